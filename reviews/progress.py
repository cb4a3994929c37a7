"""Campaign progress for the pages and the API: one grouped aggregate per table, so the
number of queries does not grow with the number of teams, owners or tasks."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from inventory.models import Identity
from reviews.models import Attestation, Campaign, Delivery, Remediation

A = Attestation
_OPEN = Q(status__in=[A.Status.PENDING, A.Status.TRIAGE])


def _counts() -> dict:
    return {
        "total": Count("id"),
        "open": Count("id", filter=_OPEN),
        "pending": Count("id", filter=Q(status=A.Status.PENDING)),
        "triage": Count("id", filter=Q(status=A.Status.TRIAGE)),
        "decided": Count("id", filter=Q(status=A.Status.DECIDED)),
        "expired": Count("id", filter=Q(status=A.Status.EXPIRED)),
        "confirm": Count("id", filter=Q(decision=A.Decision.CONFIRM)),
        "revoke": Count("id", filter=Q(decision=A.Decision.REVOKE)),
        "reassign": Count("id", filter=Q(decision=A.Decision.REASSIGN)),
        "change": Count("id", filter=Q(decision=A.Decision.CHANGE)),
    }


def _with_share(row: dict, overdue: bool) -> dict:
    # Reassigned tasks are replaced by the new owner's task: neither done nor pending.
    counted = row["total"] - row["reassign"]
    done = row["decided"] - row["reassign"]
    row["done_pct"] = round(100 * done / counted) if counted else 100
    row["overdue"] = row["open"] if overdue else 0
    return row


def totals(campaign: Campaign) -> dict:
    row = Attestation.objects.filter(campaign=campaign).aggregate(**_counts())
    return _with_share(row, campaign.is_overdue)


def per_team(campaign: Campaign, limit: int = 100) -> list[dict]:
    rows = (Attestation.objects.filter(campaign=campaign)
            .values("team__code", "team__name").annotate(**_counts())
            .order_by("-open", "team__name")[:limit])
    return [_with_share(r, campaign.is_overdue) for r in rows]


def per_owner(campaign: Campaign, limit: int = 100) -> list[dict]:
    rows = (Attestation.objects.filter(campaign=campaign).exclude(role=A.Role.TRIAGE)
            .values("reviewer__code", "reviewer__name", "reviewer__email").annotate(**_counts())
            .order_by("-open", "reviewer__name")[:limit])
    return [_with_share(r, campaign.is_overdue) for r in rows]


def owner_count(campaign: Campaign) -> int:
    return (Attestation.objects.filter(campaign=campaign).exclude(reviewer=None)
            .values("reviewer").distinct().count())


def attested(campaign: Campaign) -> int:
    """Identities of the campaign attested since it opened."""
    ids = Attestation.objects.filter(campaign=campaign).values("identity_id")
    return Identity.objects.filter(pk__in=ids, last_attested_at__gte=campaign.opened_at).count()


def mail(campaign: Campaign) -> dict:
    rows = (Delivery.objects.filter(campaign=campaign).values("status")
            .annotate(n=Count("id")).order_by())
    return {r["status"]: r["n"] for r in rows}


def failed_mail(campaign: Campaign, limit: int = 50) -> QuerySet:
    return Delivery.objects.filter(
        campaign=campaign,
        status__in=[Delivery.Status.FAILED, Delivery.Status.ABANDONED],
    ).order_by("-id")[:limit]


def remediations(campaign: Campaign, limit: int = 50) -> QuerySet:
    return (Remediation.objects.filter(campaign=campaign)
            .select_related("identity", "assignee").order_by("status", "-created_at")[:limit])
