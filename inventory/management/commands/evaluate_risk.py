"""Evaluate the risk rules now: the whole register, one source, or some identities.

    python manage.py evaluate_risk                     # everything, like the nightly task
    python manage.py evaluate_risk --source aws-prod   # one source's identities
    python manage.py evaluate_risk --identity <code> --identity <code>
    python manage.py evaluate_risk --snapshot          # also store today's dashboard numbers
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from inventory.models import Identity, Source
from inventory.risk.engine import evaluate_all, evaluate_identities, evaluate_source
from inventory.risk.snapshots import take_snapshot
from inventory.risk.tasks import run_summary


class Command(BaseCommand):
    help = "Evaluate the risk and lifecycle rules (set-based) and print a JSON summary."

    def add_arguments(self, parser):
        parser.add_argument("--source", help="Only this source's identities (by name).")
        parser.add_argument("--identity", action="append", default=[],
                            help="Only this identity (by code); repeatable.")
        parser.add_argument("--snapshot", action="store_true",
                            help="Store today's dashboard snapshot afterwards.")

    def handle(self, *args, **options):
        if options["source"] and options["identity"]:
            raise CommandError("Use either --source or --identity, not both.")
        run = self._evaluate(options)
        summary = run_summary(run)
        if options["snapshot"]:
            summary["snapshot"] = str(take_snapshot().day)
        self.stdout.write(json.dumps(summary))

    def _evaluate(self, options):
        trigger = "command"
        if options["source"]:
            source = Source.objects.filter(name=options["source"]).first()
            if source is None:
                raise CommandError(f"No source named {options['source']!r}.")
            return evaluate_source(source.pk, trigger)
        if options["identity"]:
            try:
                ids = list(Identity.objects.filter(code__in=options["identity"])
                           .values_list("id", flat=True))
            except Exception as exc:  # a malformed UUID
                raise CommandError(f"Bad identity code: {exc}") from exc
            if len(ids) != len(set(options["identity"])):
                raise CommandError("Some identity codes were not found.")
            return evaluate_identities(ids, trigger)
        return evaluate_all(trigger)
