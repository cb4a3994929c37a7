"""What an answer does. Every decision is claimed with an optimistic UPDATE (a task is
decided once), audited, and acts on the register in the same transaction:

* confirm: optional corrections (purpose, zone, expiry) go through inventory.editing; when
  the campaign's outcome rule is met the identity's last-attested date and next review
  are set;
* revoke: the identity is marked for deprovisioning and an analyst gets a remediation item,
  open until discovery shows the identity disabled or gone;
* reassign: the owner changes through inventory.editing with the reason, and the new owner
  gets a task of their own (and an email);
* change request: an analyst gets a remediation item. The owner still needs the identity,
  so it counts as keeping it for the outcome rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from inventory.editing import update_identity
from inventory.models import Identity
from nhigov.lib.audit import Actor, Change, jsonable, record
from nhigov.lib.roles import ANALYST
from ownership.models import Person
from reviews import campaigns
from reviews.models import Attestation, Campaign, Delivery, Remediation, ReviewLink

D = Attestation.Decision
OPEN_STATES = [Attestation.Status.PENDING, Attestation.Status.TRIAGE]
KEEPS = (D.CONFIRM, D.CHANGE)
OWNER_FIELD = {"technical": "technical_owner", "business": "business_owner",
               "triage": "technical_owner"}


class DecisionError(ValueError):
    """An answer that cannot be taken (missing reason, unknown person, closed campaign)."""


class AlreadyDecided(DecisionError):
    """The task was decided already (by another request or link)."""


@dataclass
class Answer:
    """An owner's (or, for triage, an analyst's) answer to one task."""

    decision: str
    comment: str = ""
    still_needed: bool | None = None
    maintainer: str = ""
    minimum_permissions: str = ""
    corrections: dict = field(default_factory=dict)
    new_owner: Person | None = None

    def recorded(self) -> dict:
        data = {"still_needed": self.still_needed, "maintainer": self.maintainer,
                "minimum_permissions": self.minimum_permissions,
                "corrections": jsonable(self.corrections)}
        if self.new_owner is not None:
            data["new_owner"] = self.new_owner.email
        return {k: v for k, v in data.items() if v not in (None, "", {})}


def validate(task: Attestation, answer: Answer) -> None:
    """Refuse answers that cannot act; raises DecisionError with a message for the owner."""
    if answer.decision not in D.values:
        raise DecisionError("Choose confirm, revoke, reassign or request a change.")
    if answer.decision != D.CONFIRM and not answer.comment.strip():
        raise DecisionError("Say why in the comment: it is recorded with your decision.")
    if answer.decision == D.CHANGE and not (answer.minimum_permissions or answer.comment):
        raise DecisionError("Describe the change you need.")
    if answer.decision == D.REASSIGN:
        if answer.new_owner is None or not answer.new_owner.is_active:
            raise DecisionError("Name an active person to hand this identity to.")
        if answer.new_owner.pk == task.reviewer_id:
            raise DecisionError("The identity is already yours; choose someone else.")


def decide(task: Attestation, answer: Answer, actor: Actor,
           link: ReviewLink | None = None) -> Attestation:
    """Take `answer` on `task` for `actor`; raises DecisionError or AlreadyDecided."""
    validate(task, answer)
    now = timezone.now()
    with transaction.atomic():
        # Decisions on one identity run one at a time, so the outcome rule sees all answers.
        identity = Identity.objects.select_for_update().get(pk=task.identity_id)
        if not Campaign.objects.filter(pk=task.campaign_id, status=Campaign.Status.OPEN).exists():
            raise DecisionError("This campaign is closed.")
        before = task.status
        claimed = Attestation.objects.filter(pk=task.pk, status__in=OPEN_STATES).update(
            status=Attestation.Status.DECIDED, decision=answer.decision, decided_at=now,
            decided_by=actor.label[:255], comment=answer.comment.strip(),
            answers=answer.recorded(),
        )
        if not claimed:
            raise AlreadyDecided("This review was already answered.")
        if link is not None:
            ReviewLink.objects.filter(pk=link.pk).update(used_at=now)
        task = Attestation.objects.select_related("campaign").get(pk=task.pk)
        record(actor, Change("attestation.decide", "attestation", task.code, str(task),
                             {"status": before}, {"decision": answer.decision,
                                                  "identity": identity.code,
                                                  **answer.recorded()}), answer.comment)
        _ACTIONS[answer.decision](task, identity, answer, actor)
    return task


def _confirm(task: Attestation, identity: Identity, answer: Answer, actor: Actor) -> None:
    if answer.corrections:
        reason = answer.comment or f"Corrected in review “{task.campaign.name}”"
        update_identity(identity, answer.corrections, actor, reason)
    settle(task, identity, actor)


def _change(task: Attestation, identity: Identity, answer: Answer, actor: Actor) -> None:
    details = "\n\n".join(x for x in (answer.minimum_permissions, answer.comment) if x)
    open_remediation(task, identity, Remediation.Kind.CHANGE, details, actor)
    settle(task, identity, actor)


def _revoke(task: Attestation, identity: Identity, answer: Answer, actor: Actor) -> None:
    if identity.deprovision_requested_at is None:
        now = timezone.now()
        Identity.objects.filter(pk=identity.pk).update(deprovision_requested_at=now,
                                                       updated_at=now)
        record(actor, Change("identity.deprovision_request", "identity", identity.code,
                             identity.name, {"deprovision_requested_at": None},
                             {"deprovision_requested_at": now}), answer.comment)
    if not Remediation.objects.filter(identity=identity, kind=Remediation.Kind.DEPROVISION,
                                      status=Remediation.Status.OPEN).exists():
        open_remediation(task, identity, Remediation.Kind.DEPROVISION, answer.comment, actor)


def _reassign(task: Attestation, identity: Identity, answer: Answer, actor: Actor) -> None:
    person = answer.new_owner
    update_identity(identity, {OWNER_FIELD[task.role]: person}, actor, answer.comment)
    role = Attestation.Role.TECHNICAL if task.role == Attestation.Role.TRIAGE else task.role
    new = campaigns.add_task(task.campaign, identity.pk, role, person.pk, reassigned_from=task)
    record(actor, Change("attestation.create", "attestation", new.code, str(new), {},
                         {"reviewer": person.email, "reassigned_from": task.code}),
           answer.comment)
    queued = campaigns.queue_owner_mail(task.campaign, Delivery.Kind.ADDED, f"added-{new.code}",
                                        timezone.now(), person_id=person.pk)
    if queued:
        transaction.on_commit(lambda: campaigns._kick_mail(task.campaign_id))


_ACTIONS = {D.CONFIRM: _confirm, D.CHANGE: _change, D.REVOKE: _revoke, D.REASSIGN: _reassign}


def outcome(decisions: list[str | None], rule: str) -> str:
    """An identity's result from its owners' decisions (None = not answered yet):
    revoked if any revokes; confirmed when the rule is met; else pending."""
    if D.REVOKE in decisions:
        return "revoked"
    keeps = [d in KEEPS for d in decisions]
    met = all(keeps) if rule == Campaign.OutcomeRule.ALL_CONFIRM else any(keeps)
    return "confirmed" if keeps and met else "pending"


def settle(task: Attestation, identity: Identity, actor: Actor) -> bool:
    """Attest the identity when this decision meets the outcome rule; True if it did."""
    rows = Attestation.objects.filter(campaign_id=task.campaign_id, identity_id=identity.pk)
    rows = rows.exclude(decision=D.REASSIGN).values_list("status", "decision")
    decisions = [d if s == Attestation.Status.DECIDED else None for s, d in rows]
    rule = task.campaign.outcome_rule
    if outcome(decisions, rule) != "confirmed":
        return False
    if rule == Campaign.OutcomeRule.ANY_CONFIRM and sum(d in KEEPS for d in decisions) > 1:
        return False  # attested by an earlier answer already
    attest(identity, task.campaign, actor)
    return True


def attest(identity: Identity, campaign: Campaign, actor: Actor) -> None:
    now = timezone.now()
    due = now.date() + timedelta(days=campaign.review_interval_days)
    Identity.objects.filter(pk=identity.pk).update(last_attested_at=now, next_review_due=due,
                                                   updated_at=now)
    record(actor, Change("identity.attest", "identity", identity.code, identity.name,
                         {"last_attested_at": identity.last_attested_at,
                          "next_review_due": identity.next_review_due},
                         {"last_attested_at": now, "next_review_due": due}),
           f"Attested in review “{campaign.name}”")


def pick_analyst():
    """The active analyst with the fewest open remediation items (None if there is none)."""
    open_items = Count("review_remediations",
                       filter=Q(review_remediations__status=Remediation.Status.OPEN))
    return (get_user_model().objects.filter(is_active=True, groups__name=ANALYST)
            .annotate(load=open_items).order_by("load", "id").first())


def open_remediation(task: Attestation, identity: Identity, kind: str, details: str,
                     actor: Actor) -> Remediation:
    item = Remediation.objects.create(
        kind=kind, identity=identity, campaign=task.campaign, attestation=task,
        assignee=pick_analyst(), requested_by=actor.label[:255], details=details,
    )
    assignee = item.assignee.email if item.assignee else None
    record(actor, Change("remediation.open", "remediation", item.code,
                         f"{item.get_kind_display()}: {identity.name}", {},
                         {"kind": kind, "identity": identity.code, "assignee": assignee}),
           details)
    return item
