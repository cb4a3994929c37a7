"""What analysts do with findings: accept a risk until a date, resolve, or reopen. Each
decision is recorded in the audit log on the identity, in the same transaction.

A manual resolution says "fixed at the source": the identity's stored verdict forgets the
rule, so the next evaluation checks again and reopens the finding if it still holds.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.models.risk import Finding, FindingStatus, IdentityRisk
from inventory.risk.registry import get_rule
from nhigov.lib.audit import Actor, Change, record

MAX_ACCEPT_DAYS = 365


class ActionError(ValueError):
    """The decision is not allowed (wrong status, missing reason, bad date)."""


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("A reason is required.")
    return reason


def _audit(finding: Finding, actor: Actor, action: str, before: dict, after: dict,
           reason: str) -> None:
    identity = finding.identity
    record(actor, Change(f"finding.{action}", "identity", identity.code, identity.name,
                         {"rule": finding.rule, **before}, {"rule": finding.rule, **after}),
           reason)


def accept(finding: Finding, user, until: dt.date, reason: str, actor: Actor) -> Finding:
    """Accept the risk until `until` (at most a year ahead); the analyst approves."""
    reason = _reason(reason)
    today = timezone.localdate()
    if until <= today:
        raise ActionError("An acceptance must end after today.")
    if until > today + dt.timedelta(days=MAX_ACCEPT_DAYS):
        raise ActionError(f"An acceptance may last at most {MAX_ACCEPT_DAYS} days.")
    if finding.status == FindingStatus.RESOLVED:
        raise ActionError("A resolved finding cannot be accepted.")
    before = {"status": finding.status, "accepted_until": finding.accepted_until}
    with transaction.atomic():
        finding.status, finding.accepted_until = FindingStatus.ACCEPTED, until
        finding.accepted_by, finding.accepted_reason = user, reason
        finding.accepted_at = timezone.now()
        finding.save(update_fields=["status", "accepted_until", "accepted_by",
                                    "accepted_reason", "accepted_at"])
        _audit(finding, actor, "accept", before,
               {"status": finding.status, "accepted_until": until}, reason)
    return finding


def resolve(finding: Finding, user, why: str, actor: Actor) -> Finding:
    """Mark fixed; the next evaluation reopens it if the condition still holds."""
    why = _reason(why)
    if finding.status == FindingStatus.RESOLVED:
        raise ActionError("The finding is already resolved.")
    before = {"status": finding.status}
    rule = get_rule(finding.rule)
    with transaction.atomic():
        finding.status, finding.resolved_at = FindingStatus.RESOLVED, timezone.now()
        finding.resolved_by, finding.resolved_why = user, why
        finding.save(update_fields=["status", "resolved_at", "resolved_by", "resolved_why"])
        if rule is not None:
            # Forget the rule in the stored verdict so the next evaluation looks again.
            IdentityRisk.objects.filter(identity_id=finding.identity_id).update(
                mask=F("mask").bitand(~rule.mask))
        _audit(finding, actor, "resolve", before, {"status": finding.status}, why)
    return finding


def reopen(finding: Finding, actor: Actor, reason: str) -> Finding:
    """Withdraw an acceptance before it expires."""
    reason = _reason(reason)
    if finding.status != FindingStatus.ACCEPTED:
        raise ActionError("Only an accepted finding can be reopened.")
    with transaction.atomic():
        finding.status, finding.opened_at = FindingStatus.OPEN, timezone.now()
        finding.reopen_count += 1
        finding.save(update_fields=["status", "opened_at", "reopen_count"])
        _audit(finding, actor, "reopen", {"status": FindingStatus.ACCEPTED},
               {"status": FindingStatus.OPEN}, reason)
    return finding
