"""Celery task for the audit trail: a thin wrapper, as `manage.py audit_checkpoint` is."""

from __future__ import annotations

from celery import shared_task

from nhigov.lib.audit import make_checkpoint


@shared_task
def audit_checkpoint() -> dict:
    """Sign the chain's current end (beat, AUDIT_CHECKPOINT_SECONDS)."""
    checkpoint = make_checkpoint()
    if checkpoint is None:
        return {"checkpoint": None}
    return {"checkpoint": checkpoint.id, "last_event_id": checkpoint.last_event_id,
            "event_count": checkpoint.event_count, "algorithm": checkpoint.algorithm}
