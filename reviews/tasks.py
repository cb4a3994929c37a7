"""Celery tasks for reviews: thin wrappers that call plain functions and return a summary.

Sending is batched per owner (one email lists all of an owner's identities) and per
campaign (one task sends a campaign's queued emails over one SMTP connection); there is
never a task per identity. The schedule is in settings.CELERY_BEAT_SCHEDULE ("# Reviews").
"""

from __future__ import annotations

from celery import shared_task

from reviews import campaigns, mailing, remediation


@shared_task
def open_scheduled_campaign() -> dict:
    """Open this period's scheduled campaign if it is not open yet (beat, hourly)."""
    campaign = campaigns.open_scheduled()
    if campaign is None:
        return {"opened": None}
    return {"opened": str(campaign.code), "tasks": campaign.task_count,
            "triage": campaign.triage_count}


@shared_task(acks_late=True)
def send_campaign_mail(campaign_id: int) -> dict:
    """Send a campaign's queued emails (after opening, a reassignment or a resend)."""
    return mailing.send_due(campaign_id=campaign_id)


@shared_task(acks_late=True)
def review_mail_cycle() -> dict:
    """Queue due reminders and escalations, then send and retry (beat, every few minutes).
    Overlapping runs are safe: each email is queued once and claimed once."""
    return mailing.mail_cycle()


@shared_task
def resolve_remediations() -> dict:
    """Close deprovisioning items discovery shows done (beat, hourly)."""
    return {"resolved": remediation.resolve_gone()}
