"""Opening and closing campaigns. Opening is set-based: one INSERT ... SELECT creates every
task with its snapshot, another queues one invitation per owner, whatever the size of the
scope (no query per identity)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from inventory.choices import IdentityStatus
from inventory.filter_ui import active_chips
from inventory.filtersets import IdentityFilterSet
from inventory.models import Identity
from nhigov.lib.audit import Actor, Change, record
from reviews import conf
from reviews.models import Attestation, Campaign, Delivery
from reviews.snapshot import JOINS, new_code_sql, snapshot_sql

logger = logging.getLogger(__name__)

# Register parameters that page or sort the list: meaningless in a campaign's scope.
_PAGING = ("after", "before", "sort", "ordering", "cursor", "page_size", "page")
_ROLES = "(SELECT 'technical' AS role UNION ALL SELECT 'business' UNION ALL SELECT 'triage')"


class ScopeError(ValueError):
    """The campaign's register filter is not valid."""


def parse_scope(scope: str) -> QueryDict:
    """A register filter from a query string or a whole register URL, without paging."""
    text = (scope or "").strip()
    if "?" in text:
        text = text.split("?", 1)[1]
    data = QueryDict(text, mutable=True)
    for key in _PAGING:
        data.pop(key, None)
    for key in [k for k in data if not any(v.strip() for v in data.getlist(k))]:
        data.pop(key)
    return data


def scope_queryset(scope: str) -> QuerySet:
    """The identities a campaign over `scope` reviews: active ones unless it names statuses."""
    data = parse_scope(scope)
    unknown = sorted(set(data) - set(IdentityFilterSet.base_filters))
    if unknown:
        raise ScopeError(f"Unknown register filter: {', '.join(unknown)}")
    if not data.getlist("status"):
        data.setlist("status", [IdentityStatus.ACTIVE])
    fs = IdentityFilterSet(data, queryset=Identity.objects.all())
    if not fs.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in fs.errors.items())
        raise ScopeError(f"The register filter is not valid ({problems})")
    return fs.qs.order_by()


def describe_scope(scope: str) -> str:
    """The scope in words, as the register's filter chips say it."""
    data = parse_scope(scope)
    if not data:
        return "All active identities"
    chips = active_chips(IdentityFilterSet(data, queryset=Identity.objects.none()))
    if not data.getlist("status"):
        chips.append("active identities")
    return " · ".join(chips)[:1000]


def _insert_tasks_sql(vendor: str, id_sql: str) -> str:
    empty_json = "'{}'::jsonb" if vendor == "postgresql" else "'{}'"
    return f"""
        INSERT INTO reviews_attestation (code, campaign_id, identity_id, role, reviewer_id,
            team_id, status, decision, answers, comment, snapshot, created_at, decided_by)
        SELECT {new_code_sql(vendor)}, %s, i.id, r.role,
            CASE r.role WHEN 'technical' THEN tp.id WHEN 'business' THEN bp.id END,
            i.team_id, CASE r.role WHEN 'triage' THEN 'triage' ELSE 'pending' END,
            '', {empty_json}, '', {snapshot_sql(vendor)}, %s, ''
        FROM inventory_identity i CROSS JOIN {_ROLES} r {JOINS}
        WHERE i.id IN ({id_sql}) AND (
            (r.role = 'technical' AND tp.is_active)
            OR (r.role = 'business' AND bp.is_active AND (tp.id IS NULL OR bp.id <> tp.id))
            OR (r.role = 'triage' AND (tp.id IS NULL OR NOT tp.is_active)
                AND (bp.id IS NULL OR NOT bp.is_active)))
    """  # noqa: S608 (only constants and Django's compiled SQL are interpolated)


def create_tasks(campaign: Campaign, identities: QuerySet, now: datetime) -> int:
    """One task per identity per active owner role, a triage item for an identity with no
    active owner (a person owning both roles answers once). Returns rows created."""
    id_sql, id_params = identities.values("id").query.sql_with_params()
    sql = _insert_tasks_sql(connection.vendor, id_sql)
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign.pk, now, *id_params])
        return cursor.rowcount


def add_task(campaign: Campaign, identity_id: int, role: str, reviewer_id: int,
             reassigned_from: Attestation | None = None) -> Attestation:
    """One new pending task (a reassignment), with a fresh snapshot of the identity."""
    vendor = connection.vendor
    empty_json = "'{}'::jsonb" if vendor == "postgresql" else "'{}'"
    sql = f"""
        INSERT INTO reviews_attestation (code, campaign_id, identity_id, role, reviewer_id,
            team_id, status, decision, answers, comment, snapshot, created_at, decided_by,
            reassigned_from_id)
        SELECT {new_code_sql(vendor)}, %s, i.id, %s, %s, i.team_id, 'pending', '',
            {empty_json}, '', {snapshot_sql(vendor)}, %s, '', %s
        FROM inventory_identity i {JOINS} WHERE i.id = %s
    """  # noqa: S608 (constants only; values are parameters)
    params = [campaign.pk, role, reviewer_id, timezone.now(),
              getattr(reassigned_from, "pk", None), identity_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return Attestation.objects.filter(campaign=campaign, identity_id=identity_id,
                                      reviewer_id=reviewer_id).latest("id")


def queue_owner_mail(campaign: Campaign, kind: str, key: str, now: datetime,
                     person_id: int | None = None, quiet_since: datetime | None = None) -> int:
    """Queue one email of `kind` per owner with a pending task (optionally one owner).
    Already queued (campaign, key, recipient) rows are left alone: runs that overlap or
    repeat queue each email once. With `quiet_since`, owners sent any email of this
    campaign since then are skipped (it listed their pending tasks already)."""
    params = [campaign.pk, kind, key, now, campaign.pk]
    only = quiet = ""
    if person_id:
        only, params = "AND p.id = %s", [*params, person_id]
    if quiet_since is not None:
        quiet = """AND NOT EXISTS (SELECT 1 FROM reviews_delivery d WHERE d.campaign_id = %s
                   AND d.person_id = p.id AND d.created_at >= %s)"""
        params += [campaign.pk, quiet_since]
    # One index probe per person (LATERAL ... LIMIT 1) rather than a pass over every task:
    # right after opening, the new rows are not yet all-visible and a scan would visit
    # each of them in the heap.
    probe = """(SELECT 1 FROM reviews_attestation a WHERE a.campaign_id = %s
               AND a.status = 'pending' AND a.reviewer_id = p.id LIMIT 1)"""
    if connection.vendor == "postgresql":
        join, where = f"CROSS JOIN LATERAL {probe} pending", "p.is_active"
    else:  # SQLite has no LATERAL; it runs a correlated EXISTS as one probe per row
        join, where = "", f"p.is_active AND EXISTS {probe}"
    sql = f"""
        INSERT INTO reviews_delivery (campaign_id, kind, key, person_id, recipient, status,
            attempts, last_error, created_at)
        SELECT %s, %s, %s, p.id, p.email, 'queued', 0, '', %s FROM ownership_person p {join}
        WHERE {where} {only} {quiet}
        ON CONFLICT DO NOTHING
    """  # noqa: S608 (constants only; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _no_active_owner() -> Q:
    return (Q(technical_owner__isnull=True) | Q(technical_owner__is_active=False)) & (
        Q(business_owner__isnull=True) | Q(business_owner__is_active=False))


def _set_counts(campaign: Campaign, identities: QuerySet, created: int) -> None:
    # Every identity in scope got at least one row (an owner task or a triage item), so
    # counting the scope is exact and much cheaper than COUNT(DISTINCT) over the tasks.
    campaign.identity_count = identities.count()
    campaign.triage_count = identities.filter(_no_active_owner()).count()
    campaign.task_count = created - campaign.triage_count
    campaign.save(update_fields=["identity_count", "task_count", "triage_count"])


def open_campaign(*, name: str, scope: str, due_date: date, actor: Actor,
                  kind: str = Campaign.Kind.AD_HOC, period: str = "",
                  outcome_rule: str | None = None, reminder_days: list[int] | None = None,
                  review_interval_days: int | None = None, send: bool = True) -> Campaign:
    """Open a campaign over the register filter `scope`; invitations go out after commit."""
    identities = scope_queryset(scope)
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name, kind=kind, scope=parse_scope(scope).urlencode(), period=period,
            scope_label=describe_scope(scope),
            opened_at=now, due_date=due_date, created_by=actor.label,
            outcome_rule=outcome_rule or conf.get("REVIEWS_OUTCOME_RULE"),
            reminder_days=sorted(set(reminder_days if reminder_days is not None
                                     else conf.get("REVIEWS_REMINDER_DAYS")), reverse=True),
            review_interval_days=review_interval_days or conf.get("REVIEWS_REVIEW_INTERVAL_DAYS"),
        )
        _set_counts(campaign, identities, create_tasks(campaign, identities, now))
        owners = queue_owner_mail(campaign, Delivery.Kind.INVITE, "invite", now)
        record(actor, Change("campaign.open", "campaign", campaign.code, campaign.name, {}, {
            "scope": campaign.scope, "due_date": due_date, "identities": campaign.identity_count,
            "tasks": campaign.task_count, "triage": campaign.triage_count, "owners": owners,
        }))
        if send:
            transaction.on_commit(lambda: _kick_mail(campaign.pk))
    return campaign


def _kick_mail(campaign_id: int) -> None:
    from reviews.tasks import send_campaign_mail  # tasks imports this module

    try:
        send_campaign_mail.delay(campaign_id)
    except Exception:  # broker down: the Delivery rows wait for beat's next mail cycle
        logger.exception("Could not queue the mail of campaign %s; the mail cycle sends it",
                         campaign_id)


def close_campaign(campaign: Campaign, actor: Actor, reason: str = "") -> int:
    """Close an open campaign: its remaining tasks expire and count as not attested.
    Returns how many expired (0 if it was already closed)."""
    now = timezone.now()
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.OPEN).update(
                status=Campaign.Status.CLOSED, closed_at=now):
            return 0
        expired = Attestation.objects.filter(
            campaign=campaign, status__in=[Attestation.Status.PENDING, Attestation.Status.TRIAGE]
        ).update(status=Attestation.Status.EXPIRED)
        record(actor, Change("campaign.close", "campaign", campaign.code, campaign.name,
                             {"status": "open"}, {"status": "closed", "expired": expired}),
               reason)
    campaign.refresh_from_db()
    return expired


def period_of(day: date) -> str | None:
    """The scheduled period `day` falls in (e.g. 2025-Q3), or None when schedules are off."""
    months = sorted(conf.get("REVIEWS_SCHEDULE_MONTHS"))
    if not months:
        return None
    started = [m for m in months if m <= day.month]
    if not started:
        return f"{day.year - 1}-{months[-1]:02d}"
    start = started[-1]
    if months == [1, 4, 7, 10]:
        return f"{day.year}-Q{(start - 1) // 3 + 1}"
    return f"{day.year}-{start:02d}"


def open_scheduled(now: datetime | None = None) -> Campaign | None:
    """Open this period's scheduled campaign unless it exists. The period is unique, so
    two overlapping scheduler runs cannot both open it."""
    now = now or timezone.now()
    period = period_of(now.date())
    if period is None or Campaign.objects.filter(period=period).exists():
        return None
    try:
        return open_campaign(
            name=f"{period} review", scope=conf.get("REVIEWS_SCHEDULED_SCOPE"),
            due_date=now.date() + timedelta(days=conf.get("REVIEWS_DUE_DAYS")),
            actor=Actor.system("review scheduler"), kind=Campaign.Kind.SCHEDULED, period=period,
        )
    except IntegrityError:
        return None  # another run opened it first
