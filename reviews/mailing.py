"""Queueing and sending review emails.

Every email is a Delivery row first. Rows are unique per (campaign, key, recipient), so a
reminder or escalation queued by two overlapping scheduler runs exists once; each row is
claimed with an optimistic `filter(...).update(...)` before it is sent, so it is sent
once. A failed send stays on the row (shown on the campaign page) and is retried with
backoff until REVIEWS_MAIL_MAX_ATTEMPTS, then abandoned. Sending goes through Django's
email backend (SMTP, configured by environment), one connection per batch.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.mail import get_connection
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from ownership.models import Person
from reviews import conf, emails, tokens
from reviews.campaigns import queue_owner_mail
from reviews.models import Attestation, Campaign, Delivery

logger = logging.getLogger(__name__)

BACKOFF_SECONDS = [60, 300, 1800, 7200]
OWNER_KINDS = {Delivery.Kind.INVITE, Delivery.Kind.REMINDER, Delivery.Kind.ADDED,
               Delivery.Kind.RESEND}


# --- queueing ----------------------------------------------------------------------------


def queue_reminders(now: datetime) -> int:
    """Queue each open campaign's latest reminder whose time has come (default 7 and 2
    days before the deadline) for owners with pending tasks. Returns emails queued."""
    queued = 0
    for campaign in Campaign.objects.filter(status=Campaign.Status.OPEN):
        if now >= campaign.deadline:
            continue
        passed = [d for d in campaign.reminder_days
                  if campaign.opened_at < campaign.deadline - timedelta(days=d) <= now]
        if passed:
            days = min(passed)
            at = campaign.deadline - timedelta(days=days)
            queued += queue_owner_mail(campaign, Delivery.Kind.REMINDER, f"reminder-{days}",
                                       now, quiet_since=at)
    return queued


def queue_escalations(now: datetime) -> int:
    """After the deadline, once per campaign: each team lead with overdue tasks in their
    team, and the security team, get one escalation email."""
    after = timedelta(days=conf.get("REVIEWS_ESCALATE_AFTER_DAYS"))
    queued = 0
    for campaign in Campaign.objects.filter(status=Campaign.Status.OPEN):
        if now < campaign.deadline + after or not _overdue(campaign).exists():
            continue
        rows = [Delivery(campaign=campaign, kind=Delivery.Kind.ESCALATION, key="escalation",
                         recipient=conf.get("REVIEWS_SECURITY_EMAIL"), created_at=now)]
        for lead_id, email in _leads(campaign):
            rows.append(Delivery(campaign=campaign, kind=Delivery.Kind.ESCALATION,
                                 key="escalation", person_id=lead_id, recipient=email,
                                 created_at=now))
        before = Delivery.objects.filter(campaign=campaign, key="escalation").count()
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        queued += Delivery.objects.filter(campaign=campaign, key="escalation").count() - before
    return queued


def _overdue(campaign: Campaign):
    return Attestation.objects.filter(
        campaign=campaign, status__in=[Attestation.Status.PENDING, Attestation.Status.TRIAGE])


def _lead_of():
    # The identity's team (at the campaign's opening), else the reviewer's own team.
    return Coalesce("team__lead", "reviewer__team__lead")


def _leads(campaign: Campaign) -> list[tuple[int, str]]:
    ids = (_overdue(campaign).filter(status=Attestation.Status.PENDING)
           .annotate(lead=_lead_of()).exclude(lead=None)
           .values_list("lead", flat=True).distinct())
    return list(Person.objects.filter(pk__in=list(ids), is_active=True)
                .values_list("pk", "email"))


def queue_resend(campaign: Campaign, actor_label: str, person_id: int | None = None) -> int:
    """Resend the pending owners' emails now (all owners, or one), with fresh links."""
    now = timezone.now()
    return queue_owner_mail(campaign, Delivery.Kind.RESEND, f"resend-{now:%Y%m%d%H%M%S%f}",
                            now, person_id=person_id)


def retry(delivery: Delivery) -> bool:
    """Make a failed or abandoned email due again now."""
    return bool(Delivery.objects.filter(
        pk=delivery.pk, status__in=[Delivery.Status.FAILED, Delivery.Status.ABANDONED]
    ).update(status=Delivery.Status.FAILED, next_attempt_at=timezone.now(), attempts=0))


# --- sending -----------------------------------------------------------------------------


def _due(now: datetime) -> Q:
    stale = now - timedelta(seconds=conf.get("REVIEWS_MAIL_STALE_SECONDS"))
    return (Q(status=Delivery.Status.QUEUED)
            | Q(status=Delivery.Status.FAILED, next_attempt_at__lte=now)
            # A worker that died mid-send left this; the next run picks it up again.
            | Q(status=Delivery.Status.SENDING, claimed_at__lt=stale))


def claim(delivery_id: int, now: datetime) -> bool:
    """Take one due email for this run; False when another run took it first."""
    return Delivery.objects.filter(_due(now), pk=delivery_id).update(
        status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1) == 1


def send_due(campaign_id: int | None = None, now: datetime | None = None,
             limit: int | None = None) -> dict:
    """Send every due email (of one campaign, or all), each once, over one connection;
    `limit` caps how many this call claims. Returns counts."""
    now = now or timezone.now()
    due = Delivery.objects.filter(_due(now))
    if campaign_id is not None:
        due = due.filter(campaign_id=campaign_id)
    summary = {"sent": 0, "failed": 0, "skipped": 0, "claimed_elsewhere": 0}
    batch, last_id, left = conf.get("REVIEWS_MAIL_BATCH"), 0, limit
    connection = get_connection()
    try:
        while left is None or left > 0:
            size = batch if left is None else min(batch, left)
            ids = list(due.filter(id__gt=last_id).order_by("id")
                       .values_list("id", flat=True)[:size])
            if not ids:
                break
            last_id = ids[-1]
            left = None if left is None else left - len(ids)
            for delivery_id in ids:
                if not claim(delivery_id, now):
                    summary["claimed_elsewhere"] += 1
                    continue
                summary[_send_one(delivery_id, connection)] += 1
    finally:
        connection.close()
    return summary


def _send_one(delivery_id: int, connection) -> str:
    delivery = Delivery.objects.select_related("campaign", "person").get(pk=delivery_id)
    try:
        message = _message(delivery)
        if message is None:
            _finish(delivery, Delivery.Status.SKIPPED)
            return "skipped"
        message.connection = connection
        message.send()
    except Exception as exc:  # SMTP refused, network down, template error: retry later
        logger.warning("Review email %s to %s failed: %s", delivery.key, delivery.recipient,
                       exc)
        connection.close()  # a broken session must not poison the next message
        _failed(delivery, exc)
        return "failed"
    _finish(delivery, Delivery.Status.SENT)
    return "sent"


def _message(delivery: Delivery):
    campaign = delivery.campaign
    if campaign.status != Campaign.Status.OPEN:
        return None
    if delivery.kind in OWNER_KINDS:
        return _owner_message(delivery)
    return _escalation_message(delivery)


def _owner_message(delivery: Delivery):
    if delivery.person is None or timezone.now() >= delivery.campaign.deadline:
        return None  # links would be dead on arrival; escalation takes over
    tasks = list(Attestation.objects.filter(
        campaign=delivery.campaign, reviewer=delivery.person, status=Attestation.Status.PENDING
    ).order_by("identity__name", "id"))
    if not tasks:
        return None
    all_token, per_task = tokens.issue(delivery.campaign, delivery.person, tasks)
    return emails.owner_email(delivery, tasks, all_token, per_task)


def _escalation_message(delivery: Delivery):
    overdue = _overdue(delivery.campaign)
    pending = overdue.filter(status=Attestation.Status.PENDING)
    for_security = delivery.person_id is None
    if not for_security:
        pending = pending.annotate(lead=_lead_of()).filter(lead=delivery.person_id)
    rows = list(pending.values_list("reviewer__email", "snapshot__name"))
    triage = overdue.filter(status=Attestation.Status.TRIAGE).count() if for_security else 0
    if not rows and not triage:
        return None
    return emails.escalation_email(delivery, rows, triage, for_security)


def _finish(delivery: Delivery, status: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, sent_at=timezone.now() if status == Delivery.Status.SENT else None,
        last_error="", next_attempt_at=None)


def _failed(delivery: Delivery, exc: Exception) -> None:
    attempts = Delivery.objects.get(pk=delivery.pk).attempts
    give_up = attempts >= conf.get("REVIEWS_MAIL_MAX_ATTEMPTS")
    wait = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.ABANDONED if give_up else Delivery.Status.FAILED,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
        next_attempt_at=None if give_up else timezone.now() + timedelta(seconds=wait))


def retriage_departed() -> int:
    """Pending tasks of owners who have left go to their campaign's triage queue: nobody
    would answer them, and an analyst can hand them to someone who will."""
    departed = Person.objects.filter(is_active=False).values("pk")
    return Attestation.objects.filter(
        status=Attestation.Status.PENDING, reviewer__in=departed,
        campaign__status=Campaign.Status.OPEN,
    ).update(status=Attestation.Status.TRIAGE)


def mail_cycle(now: datetime | None = None) -> dict:
    """What the scheduler runs: move departed owners' tasks to triage, queue due reminders
    and escalations, then send."""
    now = now or timezone.now()
    retriaged = retriage_departed()
    reminders = queue_reminders(now)
    escalations = queue_escalations(now)
    return {"retriaged": retriaged, "reminders": reminders, "escalations": escalations,
            **send_due(now=now)}
