"""Writing and verifying the hash-chained audit log.

Every change to identities, owners, sources and every export goes through `record` or
`record_many`, inside the same transaction as the change itself, so a rolled-back change
leaves no event and a committed change always has one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from nhigov.models import AuditEvent

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
    def system(cls, label: str) -> Actor:
        return cls(AuditEvent.ActorType.SYSTEM, label)


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


def event_digest(prev_hash: str, event: AuditEvent) -> str:
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


def _last_hash() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    return last or GENESIS


def record_many(actor: Actor, changes: Iterable[Change], reason: str = "") -> int:
    """Append events for `changes` to the chain in one batch; returns how many."""
    now = timezone.now()
    with transaction.atomic():
        prev = _last_hash()
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
class ChainReport:
    checked: int
    first_bad_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_chain(batch: int = 5000) -> ChainReport:
    """Walk the chain in id order; name the first event whose link or digest is wrong."""
    prev, checked, last_id = GENESIS, 0, 0
    while True:
        rows = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch])
        if not rows:
            return ChainReport(checked)
        for event in rows:
            if event.prev_hash != prev:
                return ChainReport(checked, event.id, "previous event missing or altered")
            if event_digest(prev, event) != event.hash:
                return ChainReport(checked, event.id, "event content altered")
            prev, checked, last_id = event.hash, checked + 1, event.id
