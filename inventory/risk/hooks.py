"""When evaluation runs besides the nightly task: after each sync, and after an analyst
edits an identity.

* **After a sync**: every run of `inventory.sync.sync_records` (discovery, file import,
  demo load) ends by saving its SyncRun; that save (post_save, connected in
  inventory.models.risk) queues `evaluate_source_task` for the run's source once it
  commits, so a worker evaluates while the sync worker moves on (in-process without a
  broker). Confirming a held run (which marks identities missing) does the same.
  `after_sync(run)` and the signal `sync_finished` evaluate in the caller's process.
  A failed evaluation is logged and never fails the sync: the nightly run catches up.
* **After an edit** (owner, purpose, zone...): Identity's post_save (connected in
  inventory.models.risk) calls `schedule_identity`; the ids saved in one transaction are
  evaluated together once it commits, so a loop of saves costs one evaluation.
  Bulk writes (queryset.update, the sync engine) send no signal and are not covered.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal, receiver

logger = logging.getLogger(__name__)

sync_finished = Signal()  # sender=SyncRun, run=<SyncRun>

_pending = threading.local()


def after_sync(run) -> None:
    """Evaluate the identities of the run's source (called once a sync run has ended)."""
    from inventory.risk.engine import evaluate_source

    try:
        evaluate_source(run.source_id, trigger=f"sync {run.code}")
    except Exception:  # evaluation must never turn a finished sync into a failure
        logger.exception("risk evaluation after sync run %s failed", run.code)


def run_saved(run, update_fields=None) -> None:
    """A SyncRun was saved: once it has ended (the final save of `sync_records`, or a held
    run confirmed, which saves `missing`), evaluate its source after the commit. Other
    saves (the run's creation, a superseded or discarded run) change no identity."""
    if not getattr(settings, "RISK_EVALUATE_AFTER_SYNC", True):
        return
    if run.finished_at is None or run.status == "running":
        return
    if update_fields is not None and "missing" not in update_fields:
        return
    transaction.on_commit(lambda: _queue_source(run.source_id, run.code))


def _queue_source(source_id: int, run_code) -> None:
    from inventory.risk.tasks import evaluate_source_task

    try:
        evaluate_source_task.delay(source_id, f"sync {run_code}")
    except Exception:  # a broker outage must not fail the sync; the nightly run catches up
        logger.exception("could not queue the risk evaluation after sync run %s", run_code)


@receiver(sync_finished, dispatch_uid="risk-after-sync")
def _on_sync_finished(sender, run, **kwargs) -> None:
    after_sync(run)


def schedule_identity(identity_id: int) -> None:
    """Evaluate this identity once the current transaction commits (batched)."""
    if not getattr(settings, "RISK_EVALUATE_ON_SAVE", True) or identity_id is None:
        return
    if getattr(_pending, "ids", None) is None:
        _pending.ids = set()
    _pending.ids.add(identity_id)
    connection = transaction.get_connection()
    # One callback per transaction; ids left by a rolled-back one ride along harmlessly.
    if not any(entry[1] is _flush for entry in connection.run_on_commit):
        transaction.on_commit(_flush)  # runs at once outside a transaction


def _flush() -> None:
    from inventory.risk.engine import evaluate_identities

    ids, _pending.ids = getattr(_pending, "ids", None) or set(), None
    if not ids:
        return
    try:
        evaluate_identities(ids, trigger="identity edited")
    except Exception:  # an edit has committed; a failed evaluation must not undo the page
        logger.exception("risk evaluation of %d edited identities failed", len(ids))
