"""Discovery: run a source's connector through the sync, test a source's connection, and
decide which scheduled sources are due.

Plain functions, called by the Celery tasks (inventory.tasks), the `sync_source` command,
the pages and the API alike.

Decisions:

* **Every attempt leaves a SyncRun.** The connector is built *inside* the record
  generator handed to `sync_records`, so a bad configuration or an unknown kind raises
  while the sync iterates and is recorded on a failed run like any read error, never
  lost in a worker log. Only `SyncInProgress` (another run holds the source's lock)
  leaves no run, by design: nothing was attempted.
* **Schedules** are cron expressions evaluated in `settings.TIME_ZONE`. A source's next
  run is stored in `next_run_at`; when it is unset (a new source, a changed schedule)
  it is planned from the source's last run, or from its creation if it never ran, so a
  source whose schedule fired since its last run is due at once. Missed fire times
  (dispatcher down for a day) give one run, not a backlog.
* **Claims** are optimistic: `UPDATE ... SET next_run_at = <next> WHERE id = .. AND
  next_run_at = <value read>`; of two overlapping dispatchers only one updates the row,
  so a source is queued once per fire time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery

from inventory.choices import SyncStatus
from inventory.connectors.base import CheckResult, ConnectorError, IdentityRecord, connector_for
from inventory.models import Source, SyncRun
from inventory.source_config import next_fire
from inventory.sync import confirm_held_run, discard_held_run, sync_records
from nhigov.lib.audit import Actor, Change, record

logger = logging.getLogger(__name__)

SCHEDULE_TRIGGER = "schedule"
COUNTS = ("seen", "created", "updated", "unchanged", "missing", "returned")


def _records(source: Source) -> Iterator[IdentityRecord]:
    # Built lazily, on the sync's first read: a BadConfig here fails the run, recorded.
    connector = connector_for(source.kind, source.config)
    yield from connector.read()


def run_source(source: Source, triggered_by: str) -> SyncRun:
    """Read `source` with its connector and reconcile it into the register (a complete
    run: identities it no longer reports are marked missing, or the run is held).

    Returns the finished run; raises `inventory.sync.SyncInProgress` when another run
    of the source is going on."""
    return sync_records(source, _records(source), complete=True, triggered_by=triggered_by)


def test_source(source: Source) -> CheckResult:
    """The connector's own check of `source` ("Test connection"). Never raises: a
    failure is a CheckResult with `ok=False`, a readable summary and an error kind."""
    try:
        return connector_for(source.kind, source.config).check()
    except ConnectorError as exc:
        return CheckResult(ok=False, summary=str(exc), error_kind=exc.kind)
    except Exception as exc:  # an SDK bug or an unexpected answer must not become a 500
        logger.exception("Connection test of source %s failed unexpectedly", source.name)
        return CheckResult(ok=False, summary=f"Unexpected error: {type(exc).__name__}: {exc}",
                           error_kind="error")


def run_summary(run: SyncRun) -> dict:
    """What a task returns and the command prints: the run's outcome and counts."""
    duration = run.duration
    return {
        "source": run.source.name, "run": str(run.code), "status": run.status,
        **{name: getattr(run, name) for name in COUNTS},
        "duration_seconds": round(duration.total_seconds(), 3) if duration else None,
        "error": run.error,
    }


def decide_held_run(run: SyncRun, confirm: bool, actor: Actor, reason: str) -> SyncRun:
    """Confirm (mark the unseen identities missing) or discard a held run, on an
    analyst's say-so. Raises `inventory.sync.HeldRunError` when the run is no longer
    held or a newer run superseded it.

    The sync records its own confirmed/discarded event; the reviewer's reason is recorded
    beside it in the same transaction, so the decision and its why stand or fall together.
    """
    with transaction.atomic():
        decided = (confirm_held_run if confirm else discard_held_run)(run, actor)
        record(actor, Change(
            "sync_run.reviewed", "sync_run", run.code, run.source.name,
            {"status": SyncStatus.HELD},
            {"decision": "confirm" if confirm else "discard", "status": decided.status,
             "missing": decided.missing}), reason)
    return decided


# --- schedules ---------------------------------------------------------------------------


def planned_run(source: Source, last_started: datetime | None) -> datetime | None:
    """When `source` is next due by its schedule (maybe in the past: due now), or None
    for manual or disabled sources. `last_started` is its last run's start, if any."""
    if not source.enabled:
        return None
    if source.next_run_at is not None:  # a manual source's only if a run was deferred
        return source.next_run_at
    if not source.schedule:
        return None
    try:
        return next_fire(source.schedule, last_started or source.created_at)
    except (ValueError, TypeError):  # stored before validation existed, or by hand
        logger.warning("Source %s has an invalid schedule %r", source.name, source.schedule)
        return None


def due_sources(now: datetime) -> list[Source]:
    """Enabled, scheduled sources whose planned run is at or before `now` (not claimed)."""
    candidates = (
        Source.objects.filter(enabled=True)
        .filter((~Q(schedule="") & Q(next_run_at__isnull=True)) | Q(next_run_at__lte=now))
        # Newest run's start by the (source, -started_at) index, not a GROUP BY over runs.
        .annotate(last_started=Subquery(
            SyncRun.objects.filter(source=OuterRef("pk")).order_by("-started_at")
            .values("started_at")[:1]))
        .order_by("name")
    )
    return [s for s in candidates if (due := planned_run(s, s.last_started)) and due <= now]


def claim(source: Source, now: datetime) -> bool:
    """Take `source`'s due run for this dispatcher: move `next_run_at` to the schedule's
    next fire time, only if nobody else moved it (nor changed the schedule) meanwhile."""
    try:
        # A manual source is due only through a deferred run (defer_run): taken once.
        following = next_fire(source.schedule, now) if source.schedule else None
    except (ValueError, TypeError):
        return False
    seen = (Q(next_run_at__isnull=True) if source.next_run_at is None
            else Q(next_run_at=source.next_run_at))
    updated = Source.objects.filter(
        seen, pk=source.pk, enabled=True, schedule=source.schedule,
    ).update(next_run_at=following)
    if updated:
        source.next_run_at = following
    return updated == 1


def defer_run(source: Source, now: datetime) -> None:
    """Make `source` due now, so the dispatcher queues its run: what a "Run now" becomes
    when the broker is unreachable. The request is in PostgreSQL, not lost with Redis;
    beat's next dispatch once Redis is back queues it (once: claim())."""
    Source.objects.filter(pk=source.pk, enabled=True).update(next_run_at=now)


def claim_due_sources(now: datetime) -> list[Source]:
    """Every due source this caller won the claim for; each must be queued once."""
    return [source for source in due_sources(now) if claim(source, now)]


def format_duration(duration: timedelta | None) -> str:
    """'850 ms', '12.4 s', '3 min 05 s', '2 h 10 min': short enough for a table cell."""
    if duration is None:
        return ""
    seconds = duration.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass
class SourceState:
    """What the pages show about a source beside its fields: its latest run (if any),
    whether a run is going on, and when the schedule next runs it."""

    last_run: SyncRun | None
    next_run: datetime | None

    @property
    def running(self) -> bool:
        return self.last_run is not None and self.last_run.status == SyncStatus.RUNNING

    @property
    def duration(self) -> str:
        return format_duration(self.last_run.duration) if self.last_run else ""


def source_state(source: Source, recent_runs: list[SyncRun]) -> SourceState:
    """State of `source` from its runs, newest first (already loaded: no query here)."""
    last = recent_runs[0] if recent_runs else None
    return SourceState(last, planned_run(source, last.started_at if last else None))
