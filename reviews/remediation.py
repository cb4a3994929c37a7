"""Closing remediation items: a deprovisioning item closes itself once discovery shows
the identity disabled, missing or deprovisioned; any item can be resolved by an analyst."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from inventory.choices import IdentityStatus
from nhigov.lib.audit import Actor, Change, record, record_many
from reviews.models import Remediation

GONE = [IdentityStatus.DISABLED, IdentityStatus.MISSING, IdentityStatus.DEPROVISIONED]
BATCH = 2000


def resolve_gone() -> int:
    """Resolve open deprovisioning items whose identity discovery no longer sees active.
    Set-based per batch, each resolution audited. Returns how many were resolved."""
    actor = Actor.system("review reconciler")
    resolved = 0
    while True:
        with transaction.atomic():
            locked = Remediation.objects.select_for_update(skip_locked=True, of=("self",))
            rows = list(locked.filter(
                kind=Remediation.Kind.DEPROVISION, status=Remediation.Status.OPEN,
                identity__status__in=GONE,
            ).values_list("pk", "code", "identity__name", "identity__status")[:BATCH])
            if not rows:
                return resolved
            now = timezone.now()
            Remediation.objects.filter(pk__in=[r[0] for r in rows]).update(
                status=Remediation.Status.RESOLVED, resolved_at=now,
                resolution="Discovery shows the identity is no longer active.")
            record_many(actor, (
                Change("remediation.resolve", "remediation", code, f"Deprovision: {name}",
                       {"status": "open"}, {"status": "resolved", "identity_status": status})
                for _pk, code, name, status in rows
            ), reason="Discovery shows the identity is no longer active")
            resolved += len(rows)


def resolve(item: Remediation, actor: Actor, resolution: str) -> bool:
    """An analyst marks `item` done; False if it was resolved already."""
    resolution = resolution.strip()
    if not resolution:
        raise ValueError("Say what was done.")
    with transaction.atomic():
        done = Remediation.objects.filter(pk=item.pk, status=Remediation.Status.OPEN).update(
            status=Remediation.Status.RESOLVED, resolved_at=timezone.now(), resolution=resolution)
        if done:
            record(actor, Change("remediation.resolve", "remediation", item.code, str(item),
                                 {"status": "open"}, {"status": "resolved"}), resolution)
    return bool(done)
