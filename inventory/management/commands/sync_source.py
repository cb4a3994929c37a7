"""`manage.py sync_source NAME [--async]`: run one discovery source now and print the run.

Runs in this process by default (the same function the Celery task calls); with
`--async` the run is queued for a worker and the command waits for it. Exit status:
0 succeeded, 1 failed (or unknown source), 3 held for review, 4 another run was going
on, 5 no worker finished it within --timeout.
"""

from __future__ import annotations

import contextlib
import uuid

from celery.exceptions import TimeoutError as ResultTimeout
from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory import discovery, tasks
from inventory.choices import SyncStatus
from inventory.models import Source, SyncRun
from inventory.sync import SyncInProgress
from nhigov.lib.audit import Actor

EXIT_FAILED, EXIT_HELD, EXIT_IN_PROGRESS, EXIT_TIMEOUT = 1, 3, 4, 5
TRIGGER = "command:sync_source"


class Command(BaseCommand):
    help = ("Run a discovery source now and print the run's counts. Exit status: 0 "
            "succeeded, 1 failed, 3 held for review, 4 a run was already going on, 5 timed out.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="The source's name (or its code).")
        parser.add_argument("--async", dest="on_worker", action="store_true",
                            help="Queue the run for a Celery worker and wait for it.")
        parser.add_argument("--timeout", type=float, default=6 * 3600,
                            help="With --async: seconds to wait (default 6 hours).")

    def handle(self, *args, **options) -> None:
        source = _find(options["source"])
        if options["on_worker"]:
            run = self._on_worker(source, options["timeout"])
        else:
            try:
                run = discovery.run_source(source, TRIGGER)
            except SyncInProgress as exc:
                raise CommandError(str(exc), returncode=EXIT_IN_PROGRESS) from exc
        self.stdout.write(_report(run))
        if run.status == SyncStatus.HELD:
            raise CommandError("The run is held for review: confirm or discard it on the "
                               "source's page.", returncode=EXIT_HELD)
        if run.status != SyncStatus.SUCCEEDED:
            raise CommandError(f"The run {run.status}.", returncode=EXIT_FAILED)

    def _on_worker(self, source: Source, timeout: float) -> SyncRun:
        queued = tasks.queue_sync(source, Actor.system(TRIGGER))
        if queued.run is not None or queued.skipped:  # no broker: it ran in-process
            summary = {"run": str(queued.run.code)} if queued.run else {"status": queued.skipped}
        else:
            self.stderr.write(f"Queued as task {queued.task_id}; waiting for a worker…")
            try:
                summary = tasks.sync_source_task.AsyncResult(queued.task_id).get(timeout=timeout)
            except ResultTimeout as exc:
                raise CommandError(f"No worker finished the run within {timeout:g} s "
                                   f"(task {queued.task_id}).", returncode=EXIT_TIMEOUT) from exc
        if "run" not in summary:
            raise CommandError(f"Not run: {summary['status']}.", returncode=EXIT_IN_PROGRESS)
        return SyncRun.objects.select_related("source").get(code=summary["run"])


def _find(name: str) -> Source:
    source = Source.objects.filter(name=name).first()
    if source is None:
        with contextlib.suppress(ValueError):  # not a code either
            source = Source.objects.filter(code=uuid.UUID(name)).first()
    if source is None:
        known = ", ".join(Source.objects.order_by("name").values_list("name", flat=True)[:20])
        raise CommandError(f"No source named {name!r}. Known sources: {known or 'none'}.")
    return source


def _report(run: SyncRun) -> str:
    summary = discovery.run_summary(run)
    duration = discovery.format_duration(run.duration) or "—"
    counts = "  ".join(f"{name} {summary[name]}" for name in discovery.COUNTS)
    lines = [f"Source {run.source.name} ({run.source.kind}): run {run.code} "
             f"{run.status} in {duration}", f"  {counts}"]
    if run.error:
        lines.append(f"  error: {run.error}")
    return "\n".join(lines)
