"""Writing and verifying the hash-chained audit log.

Every change to identities, owners, sources and every export goes through `record` or
`record_many`, inside the same transaction as the change itself, so a rolled-back change
leaves no event and a committed change always has one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID, uuid4

from django.db import connection, transaction
from django.utils import timezone

from nhigov.lib.audit_signing import Verifier, checkpoint_payload, current_signer
from nhigov.models import AuditCheckpoint, AuditEvent

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
# Arbitrary constant: the advisory lock that serialises appends to the chain on PostgreSQL.
_CHAIN_LOCK = 0x6E6869_61756474


@dataclass
class Actor:
    """Who made a change: a portal user, an owner through an emailed link, or the system."""

    kind: str
    label: str
    user_id: int | None = None
    request_id: str = ""

    @classmethod
    def for_user(cls, user, request_id: str = "") -> Actor:
        label = user.email or user.get_username()
        return cls(AuditEvent.ActorType.USER, label, user.pk, request_id)

    @classmethod
    def for_request(cls, request) -> Actor:
        return cls.for_user(request.user, getattr(request, "request_id", ""))

    @classmethod
    def system(cls, label: str, run_id: str = "") -> Actor:
        """Background work. Its events carry a run id where a request's would go: the
        Celery task id inside a task (so an event leads to the worker's log line), else a
        fresh id per Actor, which callers create once per run."""
        return cls(AuditEvent.ActorType.SYSTEM, label, None, run_id or _run_id())


def _run_id() -> str:
    from celery import current_task

    task_id = getattr(getattr(current_task, "request", None), "id", None)
    return str(task_id) if task_id else uuid4().hex


@dataclass
class Change:
    """One change to one object, ready to be appended to the chain."""

    action: str
    object_type: str
    object_id: str
    object_repr: str = ""
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)


def jsonable(value):
    """Make a field value JSON-safe and stable (dates as ISO strings, UUIDs as text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def event_digest(prev_hash: str, event: AuditEvent | _Row) -> str:
    payload = {
        "prev": prev_hash,
        "at": event.at.isoformat(),
        "actor_type": event.actor_type,
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "reason": event.reason,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _lock_chain() -> None:
    """Serialise appends (and checkpoints) until the transaction ends (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])


def _last_hash() -> str:
    _lock_chain()
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    return last or GENESIS


def record_many(actor: Actor, changes: Iterable[Change], reason: str = "") -> int:
    """Append events for `changes` to the chain in one batch; returns how many."""
    with transaction.atomic():
        prev = _last_hash()
        # Stamped once the chain is locked, so `at` never goes backwards along the ids
        # (a writer may wait for the lock; a period's events then form one id range).
        now = timezone.now()
        events = []
        for change in changes:
            event = AuditEvent(
                at=now,
                actor_type=actor.kind,
                actor=actor.label,
                actor_user_id=actor.user_id,
                action=change.action,
                object_type=change.object_type,
                object_id=str(change.object_id),
                object_repr=str(change.object_repr)[:255],
                reason=reason,
                before=jsonable(change.before),
                after=jsonable(change.after),
                request_id=actor.request_id,
                prev_hash=prev,
            )
            event.hash = prev = event_digest(prev, event)
            events.append(event)
        AuditEvent.objects.bulk_create(events, batch_size=2000)
    return len(events)


def record(actor: Actor, change: Change, reason: str = "") -> None:
    record_many(actor, [change], reason)


@dataclass
class CheckpointInfo:
    """A checkpoint as verification saw it (plain data, for reports and evidence packs)."""

    id: int
    at: datetime
    last_event_id: int
    last_hash: str
    event_count: int
    algorithm: str
    key_id: str
    signature: str
    verified: bool = False

    @classmethod
    def of(cls, cp: AuditCheckpoint) -> CheckpointInfo:
        return cls(cp.id, cp.at, cp.last_event_id, cp.last_hash, cp.event_count,
                   cp.algorithm, cp.key_id, cp.signature)


@dataclass
class VerifyResult:
    """What `verify_chain` found: ok, how many events, and the first altered or missing one."""

    checked: int = 0
    first_bad_id: int | None = None
    reason: str = ""
    bad_checkpoint_id: int | None = None
    checkpoints: list[CheckpointInfo] = field(default_factory=list)
    start_id: int | None = None
    end_id: int | None = None
    last_id: int | None = None
    last_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason

    @property
    def problem(self) -> str:  # the name earlier callers used
        return self.reason

    def as_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        return jsonable(data)


# Kept for callers written against the first version of this module.
ChainReport = VerifyResult


class _Row(NamedTuple):
    """The columns the digest covers, read as plain tuples: building a model instance per
    row was a third of verification's time."""

    id: int
    at: datetime
    actor_type: str
    actor: str
    action: str
    object_type: str
    object_id: str
    reason: str
    before: dict
    after: dict
    request_id: str
    prev_hash: str
    hash: str


def _events(start_id: int | None, end_id: int | None, batch: int) -> Iterator[_Row]:
    """Stream events in id order, one keyset chunk at a time (constant memory)."""
    qs = AuditEvent.objects.order_by("id")
    if end_id is not None:
        qs = qs.filter(id__lte=end_id)
    qs = qs.values_list(*_Row._fields)
    last_id = (start_id - 1) if start_id is not None else 0
    while True:
        rows = [_Row._make(row) for row in qs.filter(id__gt=last_id)[:batch]]
        yield from rows
        if len(rows) < batch:
            return
        last_id = rows[-1].id


def _checkpoints(start_id: int | None, end_id: int | None) -> Iterator[AuditCheckpoint]:
    qs = AuditCheckpoint.objects.order_by("last_event_id", "id")
    if start_id is not None:
        qs = qs.filter(last_event_id__gte=start_id)
    if end_id is not None:
        qs = qs.filter(last_event_id__lte=end_id)
    return qs.iterator(chunk_size=500)


def _start_state(start_id: int | None) -> tuple[str, int, int]:
    """The hash the segment must link to, the id it comes from, and how many events
    precede the segment."""
    if start_id is None:
        return GENESIS, 0, 0
    before = AuditEvent.objects.filter(id__lt=start_id)
    prev = before.order_by("-id").values_list("hash", "id").first()
    return (prev[0], prev[1], before.count()) if prev else (GENESIS, 0, 0)


class _Walk:
    """The state of one verification pass: the chain so far and the pending checkpoints."""

    def __init__(self, result: VerifyResult, verifier, checkpoints, start: tuple[str, int, int]):
        self.result, self.verifier = result, verifier
        self.pending = iter(checkpoints)
        self.next_cp = next(self.pending, None)
        self.prev, self.prev_id, self.count = start

    def fail(self, event_id: int | None, reason: str, cp: AuditCheckpoint | None = None):
        self.result.first_bad_id, self.result.reason = event_id, reason
        self.result.bad_checkpoint_id = cp.id if cp else None
        return False

    def step(self, event: _Row) -> bool:
        # Checkpoints signed at an id the walk has passed name an event that is gone.
        while self.next_cp is not None and self.next_cp.last_event_id < event.id:
            if not self.checkpoint(self.next_cp, None):
                return False
        if event.prev_hash != self.prev:
            return self.broken_link(event)
        if event_digest(self.prev, event) != event.hash:
            return self.fail(event.id, "event content altered")
        self.prev, self.prev_id, self.count = event.hash, event.id, self.count + 1
        self.result.checked += 1
        self.result.last_id, self.result.last_hash = event.id, event.hash
        while self.next_cp is not None and self.next_cp.last_event_id == event.id:
            if not self.checkpoint(self.next_cp, event):
                return False
        return True

    def broken_link(self, event: _Row) -> bool:
        """An intact event whose predecessor is not the one before it in the table: the
        rows in the id gap between them were deleted (ids come from a sequence), so the
        first one is named. Without a gap, or when the event itself does not hash, it is
        this event that was altered."""
        intact = event_digest(event.prev_hash, event) == event.hash
        if intact and not self.prev_id:  # the sequence's start is unknown: name the survivor
            return self.fail(event.id, f"events before event {event.id} missing: it links to "
                             "an event that is no longer in the chain")
        if intact and event.id > self.prev_id + 1:
            return self.fail(self.prev_id + 1, f"event {self.prev_id + 1} missing: event "
                             f"{event.id} links to an event that is no longer in the chain")
        return self.fail(event.id, "previous event missing or altered")

    def checkpoint(self, cp: AuditCheckpoint, event: _Row | None) -> bool:
        self.next_cp = next(self.pending, None)
        info = CheckpointInfo.of(cp)
        self.result.checkpoints.append(info)
        payload = checkpoint_payload(cp.last_event_id, cp.last_hash, cp.event_count,
                                     cp.at.isoformat())
        problem = self.verifier.check(cp.algorithm, cp.key_id, payload, cp.signature)
        if problem:
            return self.fail(None, f"checkpoint {cp.id}: {problem}", cp)
        if event is None:
            after = f"after event {self.result.last_id}" if self.result.last_id else "at the start"
            return self.fail(cp.last_event_id, f"event {cp.last_event_id} missing {after}: "
                             f"checkpoint {cp.id} signed it", cp)
        if cp.last_hash != event.hash:
            return self.fail(event.id, f"event {event.id} or an earlier one altered and the "
                             f"chain re-hashed: checkpoint {cp.id} signed another hash", cp)
        if cp.event_count != self.count:
            return self.fail(event.id, f"events missing before event {event.id}: checkpoint "
                             f"{cp.id} counted {cp.event_count}, the chain has {self.count}", cp)
        info.verified = True
        return True

    def finish(self) -> None:
        """Checkpoints beyond the last event: the newest events were deleted (truncation)."""
        cp = self.next_cp
        if cp is None:
            return
        self.next_cp = next(self.pending, None)
        self.result.checkpoints.append(CheckpointInfo.of(cp))
        payload = checkpoint_payload(cp.last_event_id, cp.last_hash, cp.event_count,
                                     cp.at.isoformat())
        problem = self.verifier.check(cp.algorithm, cp.key_id, payload, cp.signature)
        if problem:
            self.fail(None, f"checkpoint {cp.id}: {problem}", cp)
            return
        last = self.result.last_id or 0
        # Ids come from a sequence, so the first id after the surviving end is the first
        # deleted one unless a rolled-back transaction left a gap there.
        self.fail(last + 1, f"events after {last or 'the start'} missing: checkpoint {cp.id} "
                  f"signed {cp.event_count} events ending at event {cp.last_event_id}, the "
                  f"chain has {self.count}", cp)


def verify_chain(start_id: int | None = None, end_id: int | None = None, *,
                 public_keys: list[bytes] | None = None, batch: int = 5000) -> VerifyResult:
    """Walk the chain (or the segment start_id..end_id, inclusive) in id order, checking
    every link, every digest and every checkpoint signed inside the range; stop at the
    first altered or missing event. `public_keys` adds Ed25519 public keys (PEM) to the
    configured one, for checkpoints signed with keys rotated out or verified offline."""
    result = VerifyResult(start_id=start_id, end_id=end_id)
    walk = _Walk(result, Verifier(public_keys), _checkpoints(start_id, end_id),
                 _start_state(start_id))
    for event in _events(start_id, end_id, batch):
        if not walk.step(event):
            return result
    walk.finish()
    return result


def make_checkpoint() -> AuditCheckpoint | None:
    """Sign the chain's current end. Nothing is written when no event was added since the
    last checkpoint, or when the events since then do not verify: signing a broken chain
    would vouch for the tampering (the error is logged and verify_audit names the event)."""
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        previous = AuditCheckpoint.objects.order_by("-last_event_id", "-id").first()
        if last is None or (previous and previous.last_event_id >= last[0]):
            return None
        # From the previous checkpoint's own event, so its signature, hash and count are
        # checked too: a chain altered and re-hashed below it must not be signed again.
        start = previous.last_event_id if previous else None
        check = verify_chain(start_id=start, end_id=last[0])
        if not check.ok:
            logger.error("audit checkpoint refused: %s (event %s)", check.reason,
                         check.first_bad_id)
            return None
        return _sign_checkpoint(last[0], last[1], (previous.event_count - 1 if previous else 0)
                                + check.checked)


def _sign_checkpoint(last_id: int, last_hash: str, count: int) -> AuditCheckpoint:
    signer = current_signer()
    at = timezone.now()
    signature = signer.sign(checkpoint_payload(last_id, last_hash, count, at.isoformat()))
    return AuditCheckpoint.objects.create(
        at=at, last_event_id=last_id, last_hash=last_hash, event_count=count,
        algorithm=signer.algorithm, key_id=signer.key_id, signature=signature)
