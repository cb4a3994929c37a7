"""Reconcile discovered records into the register: the one place that writes them.

Decisions (see the Sync contract in DESIGN.md):

* **Unchanged rows are not written.** Each identity carries a SHA-256 `data_hash` of what
  the source reported (credentials and owner hints included). A record whose hash and
  status match its row costs no write at all, so a second sync of an unchanged source
  issues no UPDATE.
* **"Seen in this run"** is the set of primary keys the run touched, kept in memory (about
  60 MB for a million identities); missing identities are those of the source, still
  active or disabled, whose id is not in that set. Nothing is stamped on every row.
* **`last_seen_at`** is written with every created or changed row, and otherwise
  refreshed at most once per `SYNC_LAST_SEEN_REFRESH_HOURS` (default 24; 0 = never) by
  a single set-based UPDATE per batch that leaves `updated_at` alone. It is therefore
  accurate to within that period, while back-to-back runs write nothing.
* **Failure**: each batch (identities, credentials, audit events) commits in its own
  transaction, and a failed run keeps what it wrote: those rows are true facts the source
  reported, every batch is internally consistent, and a retry converges because the
  upsert is idempotent. A failed run never marks anything missing. The missing marking
  of a finished run is all-or-nothing (one transaction).
* **Held runs**: when the share of known identities that would go missing exceeds
  `source.missing_threshold`, nothing is marked and the run is `held`; its seen rows get
  `last_seen_at` stamped, so `confirm_held_run` can recompute the unseen set later.
  Only the latest run of a source can be confirmed: a new run supersedes a held one.
* **People-owned fields** (owners, team, purpose, zone, workload, change ticket) are
  never written by the bulk update; owner hints fill them only while empty and only
  when the row is written (created or changed). The source's environment, when it
  reports one, is authoritative; a hint environment only fills an empty one.
* **One run per source**: a session-level PostgreSQL advisory lock keyed by the source
  id; a second run raises `SyncInProgress`. On SQLite the lock is a no-op.
* **Change log**: every identity a run creates, updates, marks missing or brings back gets a
  `SyncChange` row of that run (inventory.sync_changes), written in the same transaction
  as the change (one COPY per batch), so each kind's rows match the run's count of it and
  the register can list them (`?run=<code>&change=<kind>`). A held run's missing rows are
  written when it is confirmed. Unchanged identities get none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from inventory.choices import IdentityStatus, SyncStatus
from inventory.connectors.base import IdentityRecord
from inventory.models import ChangeKind, Credential, Identity, Source, SyncChange, SyncRun
from inventory.sync_changes import ChangeLog
from inventory.sync_helpers import PRESENT
from inventory.sync_upsert import RunState, upsert_batch
from nhigov.lib.audit import Actor, Change, record, record_many

logger = logging.getLogger(__name__)

# Two-key advisory lock namespace ("nhis"); the audit chain uses the one-key space.
_LOCK_NAMESPACE = 0x6E686973
_CHUNK = 2000


class SyncInProgress(RuntimeError):
    """Another run of the same source holds the lock; try again when it has finished."""


class HeldRunError(ValueError):
    """A held run cannot be confirmed or discarded (wrong status, or superseded)."""


def _batch_size() -> int:
    return max(1, int(getattr(settings, "SYNC_BATCH_SIZE", 2000)))


def _refresh_after() -> timedelta | None:
    hours = float(getattr(settings, "SYNC_LAST_SEEN_REFRESH_HOURS", 24))
    return timedelta(hours=hours) if hours > 0 else None


@contextmanager
def source_lock(source: Source) -> Iterator[None]:
    """Hold the source's advisory lock for the block, or raise SyncInProgress."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, source.pk])
        if not cursor.fetchone()[0]:
            raise SyncInProgress(f"A sync of source {source.name!r} is already running.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, source.pk])


def _batches(records: Iterable[IdentityRecord], size: int) -> Iterator[list[IdentityRecord]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def _close_earlier_runs(source: Source) -> None:
    """Under the lock, no other run is alive: a 'running' row is a crashed worker's, and a
    'held' row is superseded by the run about to start."""
    earlier = SyncRun.objects.filter(source=source)
    earlier.filter(status=SyncStatus.RUNNING).update(
        status=SyncStatus.FAILED, finished_at=timezone.now(),
        error="Interrupted: the worker stopped before the run finished; nothing was marked "
              "missing.")
    for run in earlier.filter(status=SyncStatus.HELD):
        run.status = SyncStatus.FAILED
        run.error = f"{run.error} Superseded by a newer run; nothing was marked missing."
        run.save(update_fields=["status", "error"])


def sync_records(
    source: Source, records: Iterable[IdentityRecord], *, complete: bool = True,
    triggered_by: str = "",
) -> SyncRun:
    """Upsert `records` for `source` and, for a complete run, mark the unseen missing.

    Returns the finished SyncRun (succeeded, failed or held); an error while reading or
    writing records is recorded on the run, not raised. Raises SyncInProgress when
    another run of the source holds the lock.
    """
    with source_lock(source):
        _close_earlier_runs(source)
        run = SyncRun.objects.create(source=source, triggered_by=triggered_by[:200])
        state = RunState(source, run, Actor.system(f"sync:{run.code}"), _refresh_after())
        try:
            for batch in _batches(records, _batch_size()):
                _upsert_counted(state, batch)
            _conclude(state, complete)
        except Exception as exc:  # any failure, from the source or the database, fails the run
            logger.exception("Sync of source %s failed (run %s)", source.name, run.code)
            run.status = SyncStatus.FAILED
            run.error = (f"Failed after {run.seen} identities: {type(exc).__name__}: "
                         f"{exc}")[:4000]
        _finish(state)
    return run


_PROGRESS = ["seen", "created", "updated", "unchanged", "returned"]


def _upsert_counted(state: RunState, batch: list[IdentityRecord]) -> None:
    """Upsert a batch; its counts stand only if it committed (a failed batch rolls back)."""
    before = {name: getattr(state.run, name) for name in _PROGRESS}
    try:
        upsert_batch(state, batch)
    except Exception:
        for name, value in before.items():
            setattr(state.run, name, value)
        raise
    state.run.save(update_fields=_PROGRESS)  # progress, visible while the run goes on
    if state.run.created >= state.next_analyze:
        state.next_analyze = state.run.created * 2
        _analyze()


def _analyze() -> None:
    """Refresh planner statistics during a bulk load. Autovacuum lags behind (or is off),
    and with statistics from when the table was small PostgreSQL looks rows up through
    the source index instead of (source, external_id): every batch would scan the source.
    The change log is included so the register's run filter is planned on its real size."""
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table)
                           for m in (Identity, Credential, SyncChange))
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")


def _conclude(state: RunState, complete: bool) -> None:
    """Decide what the end of a successful read means for identities not seen."""
    run = state.run
    run.status = SyncStatus.SUCCEEDED
    if not complete:
        return
    if run.seen == 0:
        if Identity.objects.filter(source=state.source, status__in=PRESENT).exists():
            run.error = ("The source reported no identities; nothing was marked missing "
                         "(an empty run never marks anything).")
        return
    unseen = _unseen_ids(state)
    base = state.known_present + len(unseen)
    share = len(unseen) / base if base else 0.0
    if unseen and share > state.source.missing_threshold:
        _hold(state, len(unseen), base, share)
    elif unseen:
        run.missing = _mark_missing(run, unseen, state.actor,
                                    f"not reported by run {run.code}")


def _unseen_ids(state: RunState) -> list[int]:
    ids = (Identity.objects.filter(source=state.source, status__in=PRESENT)
           .values_list("id", flat=True).order_by())
    return [pk for pk in ids.iterator(chunk_size=_CHUNK * 10) if pk not in state.seen_ids]


def _hold(state: RunState, unseen: int, base: int, share: float) -> None:
    run = state.run
    run.status = SyncStatus.HELD
    run.error = (
        f"Held for review: {unseen} of {base} known identities ({share:.0%}) were not "
        f"reported, above this source's threshold of {state.source.missing_threshold:.0%}. "
        "Nothing was marked missing; confirm to mark them, or discard.")
    now = timezone.now()
    # Make every row this run saw carry last_seen_at >= run start (see module docstring).
    for start in range(0, len(state.unstamped), _CHUNK):
        chunk = state.unstamped[start:start + _CHUNK]
        Identity.objects.filter(pk__in=chunk).update(last_seen_at=now)


def _mark_missing(run: SyncRun, ids: list[int], actor: Actor, reason: str) -> int:
    """Mark `ids` missing in one transaction, with one audit event and one change-log row
    of `run` per identity."""
    now, marked = timezone.now(), 0
    with transaction.atomic():
        for start in range(0, len(ids), _CHUNK):
            # Locked, so the rows read are exactly the rows marked (and logged).
            rows = Identity.objects.filter(source_id=run.source_id, status__in=PRESENT,
                                           pk__in=ids[start:start + _CHUNK])
            found = list(rows.select_for_update().values_list("id", "code", "name", "status"))
            marked += Identity.objects.filter(pk__in=[pk for pk, *_ in found]).update(
                status=IdentityStatus.MISSING, missing_since=now, updated_at=now)
            record_many(actor, (
                Change("identity.missing", "identity", code, name, {"status": status},
                       {"status": IdentityStatus.MISSING, "missing_since": now})
                for _pk, code, name, status in found), reason)
            log = ChangeLog(run.pk)
            log.add(ChangeKind.MISSING, (pk for pk, *_ in found))
            log.flush()
    return marked


def _counts(run: SyncRun) -> dict:
    return {name: getattr(run, name)
            for name in ("seen", "created", "updated", "unchanged", "missing", "returned")}


def _finish(state: RunState) -> None:
    run = state.run
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save()
        record(state.actor, Change(
            "sync_run.finished", "sync_run", run.code, state.source.name, {},
            {"source": state.source.name, "status": run.status, **_counts(run),
             "error": run.error[:500]}))


def _held_run(run: SyncRun) -> SyncRun:
    run.refresh_from_db()
    if run.status != SyncStatus.HELD:
        raise HeldRunError(f"Run {run.code} is {run.status}, not held.")
    later = SyncRun.objects.filter(source_id=run.source_id, started_at__gt=run.started_at)
    if later.exists():
        raise HeldRunError(f"Run {run.code} was superseded by a newer run of its source.")
    return run


def confirm_held_run(run: SyncRun, actor: Actor) -> SyncRun:
    """Apply a held run's missing marking, on an analyst's say-so."""
    source = run.source
    with source_lock(source):
        run = _held_run(run)
        unseen = list(
            Identity.objects.filter(source=source, status__in=PRESENT)
            .exclude(last_seen_at__gte=run.started_at).values_list("id", flat=True))
        with transaction.atomic():
            run.missing = _mark_missing(run, unseen, actor, f"confirmed held run {run.code}")
            run.status = SyncStatus.SUCCEEDED
            run.error = f"{run.error} Confirmed by {actor.label}."
            run.save(update_fields=["missing", "status", "error"])
            record(actor, Change("sync_run.confirmed", "sync_run", run.code, source.name,
                                 {"status": SyncStatus.HELD},
                                 {"status": run.status, "missing": run.missing}))
    return run


def discard_held_run(run: SyncRun, actor: Actor) -> SyncRun:
    """Reject a held run's picture of the source: nothing is marked missing."""
    source = run.source
    with source_lock(source):
        run = _held_run(run)
        with transaction.atomic():
            run.status = SyncStatus.FAILED
            run.error = f"{run.error} Discarded by {actor.label}; nothing was marked missing."
            run.save(update_fields=["status", "error"])
            record(actor, Change("sync_run.discarded", "sync_run", run.code, source.name,
                                 {"status": SyncStatus.HELD}, {"status": run.status}))
    return run
