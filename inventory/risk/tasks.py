"""Celery tasks for risk: thin wrappers around inventory.risk (DESIGN: tasks take ids and
call plain functions). Beat runs `nightly_risk` (settings: "# Risk" block); the
management command `evaluate_risk` calls the same functions.
"""

from __future__ import annotations

import logging

from celery import shared_task

from inventory.risk import alerts
from inventory.risk.engine import evaluate_all, evaluate_identities, evaluate_source
from inventory.risk.snapshots import take_snapshot

logger = logging.getLogger(__name__)


def run_summary(run) -> dict:
    return {"run": str(run.code), "scope": run.scope_size, "changed": run.changed,
            "opened": run.opened, "reopened": run.reopened, "resolved": run.resolved,
            "expired": run.expired}


@shared_task(acks_late=True)
def nightly_risk() -> dict:
    """Evaluate the whole register, take today's snapshot, queue and send alerts. Each
    step is idempotent, so a redelivered task converges to the same state."""
    run = evaluate_all("nightly")
    summary = run_summary(run)
    summary["snapshot"] = str(take_snapshot().day)
    summary["alerts"] = alerts.queue_for_run(run)
    summary["delivered"] = alerts.deliver_due()
    return summary


@shared_task(acks_late=True)
def evaluate_source_task(source_id: int, trigger: str = "") -> dict:
    return run_summary(evaluate_source(source_id, trigger or f"source {source_id}"))


@shared_task(acks_late=True)
def evaluate_identities_task(identity_ids: list[int], trigger: str = "") -> dict:
    return run_summary(evaluate_identities(identity_ids, trigger))


@shared_task
def deliver_alerts() -> dict:
    """Send due alerts and retry failed ones (beat, every few minutes)."""
    return {"delivered": alerts.deliver_due()}
