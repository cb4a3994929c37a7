"""Celery tasks for discovery: thin wrappers that take ids and call inventory.discovery.

* `sync_source_task` runs one source. It acknowledges late, so a worker that dies mid-run
  leaves the message to be redelivered; the sync is idempotent and the next run marks
  the dead run's row failed, so a retry converges to the same register.
* `dispatch_due_syncs` runs every minute from beat (settings.CELERY_BEAT_SCHEDULE) and
  queues each due source once, however many dispatchers overlap.
* `check_source_task` is "Test connection". It runs on a worker because workers hold the
  source credentials (environment, mounted files, workload identity); the web process
  may have none, and a test there would report a failure the real runs never see.

`queue_sync` and `check_source` are what the pages, the API and the command call: with
no broker configured (the embedded demo) Celery runs the task in-process and they hand
back the finished run or the result at once.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from celery import shared_task, uuid
from celery.exceptions import TimeoutError as ResultTimeout
from django.conf import settings
from django.utils import timezone

from inventory import discovery
from inventory.connectors.base import CheckResult
from inventory.models import Source, SyncRun
from inventory.sync import SyncInProgress
from nhigov.lib.audit import Actor, Change, record

logger = logging.getLogger(__name__)

SKIPPED_IN_PROGRESS = "skipped: run in progress"


@shared_task(acks_late=True)
def sync_source_task(source_id: int, triggered_by: str = "") -> dict:
    """Run source `source_id` now; returns the run's summary, or why it was skipped."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return {"source_id": source_id, "status": "skipped: source deleted"}
    if triggered_by == discovery.SCHEDULE_TRIGGER and not source.enabled:
        # Disabled after the dispatcher queued it: respect the newer decision.
        return {"source": source.name, "status": "skipped: source disabled"}
    try:
        run = discovery.run_source(source, triggered_by)
    except SyncInProgress:
        # Not retried: the run holding the lock reads the same source right now.
        return {"source": source.name, "status": SKIPPED_IN_PROGRESS}
    return discovery.run_summary(run)


@shared_task
def dispatch_due_syncs() -> dict:
    """Queue every enabled source whose schedule is due, each claimed first so that
    overlapping dispatches (two beats, a redelivered message) queue it once."""
    now = timezone.now()
    queued, failed = [], []
    for source in discovery.due_sources(now):
        if not discovery.claim(source, now):
            continue  # another dispatcher took it
        try:
            sync_source_task.delay(source.pk, discovery.SCHEDULE_TRIGGER)
        except Exception:  # broker trouble: this source waits for its next fire time
            logger.exception("Could not queue the scheduled run of source %s", source.name)
            failed.append(source.name)
        else:
            queued.append(source.name)
    return {"queued": queued, "failed": failed}


@shared_task
def check_source_task(source_id: int) -> dict:
    """Test source `source_id`'s connection; returns the CheckResult as a dict."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return dataclasses.asdict(CheckResult(False, "The source no longer exists."))
    return dataclasses.asdict(discovery.test_source(source))


# --- what callers use --------------------------------------------------------------------


def runs_in_process() -> bool:
    """True when tasks run eagerly in the caller's process (no broker configured)."""
    return bool(sync_source_task.app.conf.task_always_eager)


@dataclass
class QueuedSync:
    """A requested run: its task id and, when tasks ran in-process, the finished run or
    why it was skipped."""

    task_id: str
    run: SyncRun | None = None
    skipped: str = ""
    deferred: bool = False  # broker unreachable: the dispatcher queues it when it returns


def queue_sync(source: Source, actor: Actor) -> QueuedSync:
    """Queue a run of `source` for `actor` (or, embedded, run it now and return it).
    The request is audited first, so the log shows who started the run before the
    run's own events."""
    task_id = uuid()
    record(actor, Change("source.sync_requested", "source", source.code, source.name, {},
                         {"task": task_id}))
    try:
        result = sync_source_task.apply_async((source.pk, actor.label[:200]), task_id=task_id)
    except Exception:  # broker down: keep the request in the database, not in the void
        logger.exception("Could not queue a run of source %s; deferred to the dispatcher",
                         source.name)
        discovery.defer_run(source, timezone.now())
        return QueuedSync(task_id, deferred=True)
    if not runs_in_process():
        return QueuedSync(task_id)
    summary = result.get()
    if "run" not in summary:
        return QueuedSync(task_id, skipped=summary["status"])
    return QueuedSync(task_id, SyncRun.objects.select_related("source").get(code=summary["run"]))


def check_timeout() -> float:
    return float(getattr(settings, "SOURCE_CHECK_TIMEOUT", 30))


def check_source(source: Source) -> CheckResult:
    """Test `source` on a worker and wait for the answer; never raises."""
    timeout = check_timeout()
    try:
        # expires: a test nobody answered in time must not run later for no one.
        result = check_source_task.apply_async((source.pk,), expires=timeout)
        return CheckResult(**result.get(timeout=timeout))
    except ResultTimeout:
        return CheckResult(False, f"No worker answered within {timeout:g} s: is a Celery "
                                  "worker running and connected to the broker?",
                           error_kind="no_worker")
    except Exception as exc:  # broker down or unreachable
        logger.exception("Could not test source %s", source.name)
        return CheckResult(False, f"Could not reach the task queue: {type(exc).__name__}: "
                                  f"{exc}", error_kind="no_worker")
