"""Changes people make to the register: single edits and bulk assignments.

Every change requires a reason and is recorded in the audit log with before and after,
in the same transaction as the change.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from inventory.models import Identity
from nhigov.lib.audit import Actor, Change, record, record_many

EDITABLE_FIELDS = [
    "technical_owner", "business_owner", "backup_owner", "team", "purpose", "zone",
    "environment", "workload", "change_ticket", "expires_at", "tags",
]
BULK_FIELDS = ["technical_owner", "business_owner", "backup_owner", "team", "zone"]


class EditError(ValueError):
    """A change that cannot be made (no reason, unknown field)."""


def _shown(value):
    """The audit log shows related objects by their natural key, not database ids."""
    if value is None:
        return None
    if hasattr(value, "slug"):  # teams and environments (a team also has a mailbox)
        return value.slug
    if hasattr(value, "email"):
        return value.email
    return value


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise EditError("A reason is required for every change.")
    return reason


def update_identity(identity: Identity, changes: dict, actor: Actor, reason: str) -> list[str]:
    """Apply `changes` (field -> new value) to one identity; returns the fields changed."""
    reason = _check_reason(reason)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise EditError(f"These fields cannot be edited: {', '.join(sorted(unknown))}")
    before, after = {}, {}
    for field, value in changes.items():
        old = getattr(identity, field)
        if old != value:
            before[field], after[field] = _shown(old), _shown(value)
            setattr(identity, field, value)
    if not after:
        return []
    with transaction.atomic():
        identity.save(update_fields=[*after, "updated_at"])
        record(actor, Change("identity.update", "identity", identity.code, identity.name,
                             before, after), reason)
    return list(after)


def bulk_assign(
    queryset: QuerySet, field: str, value, actor: Actor, reason: str, chunk: int = 2000
) -> int:
    """Set `field` to `value` on every identity in `queryset`, chunk by chunk, auditing
    each identity that actually changes. Returns how many changed."""
    reason = _check_reason(reason)
    if field not in BULK_FIELDS:
        raise EditError(f"Bulk assignment supports {', '.join(BULK_FIELDS)}; not {field!r}")
    attname = Identity._meta.get_field(field).attname
    raw = getattr(value, "pk", value)
    shown_after = _shown(value)
    changed, last_id = 0, 0
    base = queryset.order_by("id")
    while True:
        rows = list(base.filter(id__gt=last_id).values_list("id", "code", "name", attname)[:chunk])
        if not rows:
            return changed
        last_id = rows[-1][0]
        todo = [r for r in rows if r[3] != raw]
        if todo:
            changed += _assign_chunk(todo, field, attname, raw, shown_after, actor, reason)


def _assign_chunk(rows, field, attname, raw, shown_after, actor, reason) -> int:
    old_shown = _related_labels(field, {r[3] for r in rows})
    with transaction.atomic():
        Identity.objects.filter(id__in=[r[0] for r in rows]).update(
            **{attname: raw, "updated_at": timezone.now()}
        )
        record_many(
            actor,
            (
                Change("identity.bulk_update", "identity", code, name,
                       {field: old_shown.get(old, old)}, {field: shown_after})
                for _id, code, name, old in rows
            ),
            reason,
        )
    return len(rows)


def _related_labels(field: str, ids: set) -> dict:
    """Map old foreign-key ids to their audit labels in one query."""
    remote = Identity._meta.get_field(field).related_model
    if remote is None:
        return {}
    return {obj.pk: _shown(obj) for obj in remote.objects.filter(pk__in=ids - {None})}
