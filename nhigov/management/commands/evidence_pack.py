"""python manage.py evidence_pack --framework soc2 --start 2026-07-01 --end 2026-09-30
--output pack.zip  (--output - writes the ZIP to standard output)."""

from __future__ import annotations

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from nhigov.evidence.builder import EvidencePack
from nhigov.evidence.files import Period
from nhigov.evidence.forms import period_problem
from nhigov.evidence.frameworks import FRAMEWORKS
from nhigov.lib.audit import Actor


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from error


class Command(BaseCommand):
    help = "Write the evidence pack (ZIP) for a framework and period; the export is audited."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--framework", required=True, choices=sorted(FRAMEWORKS))
        parser.add_argument("--start", required=True, type=_date)
        parser.add_argument("--end", required=True, type=_date)
        parser.add_argument("--output", required=True, help="ZIP file to write, or -.")
        parser.add_argument("--reason", default="", help="Kept in the audit log.")
        parser.add_argument("--actor", default="manage.py evidence_pack",
                            help="Who asks, as recorded in the audit log.")

    def handle(self, *args, framework: str, start: date, end: date, output: str,
               reason: str, actor: str, **options) -> None:
        if period_problem(start, end):
            raise CommandError(period_problem(start, end))
        pack = EvidencePack.create(framework, Period(start, end), Actor.system(actor),
                                   reason=reason)
        size = 0
        with (open(output, "wb") if output != "-" else _stdout()) as out:
            for chunk in pack.stream():
                out.write(chunk)
                size += len(chunk)
        if output != "-":
            self.stdout.write(f"Wrote {output}: {size:,} bytes, pack {pack.code}")


class _stdout:
    def __enter__(self):
        return sys.stdout.buffer

    def __exit__(self, *exc) -> None:
        sys.stdout.buffer.flush()
