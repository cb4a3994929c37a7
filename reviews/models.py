"""Review campaigns, the attestation tasks they hand to owners, the emailed links that
answer them, the emails themselves, and the remediation items decisions create."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Campaign(models.Model):
    """One round of reviews over a set of identities (a saved register filter), with an
    open date and a due date. Scheduled campaigns carry their period (e.g. 2025-Q3),
    unique, so overlapping scheduler runs open each period once."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        AD_HOC = "ad_hoc", "Ad hoc"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class OutcomeRule(models.TextChoices):
        ALL_CONFIRM = "all_confirm", "Confirmed when every owner confirms; revoked if any revokes"
        ANY_CONFIRM = "any_confirm", "Confirmed when one owner confirms; revoked if any revokes"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.AD_HOC)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    scope = models.TextField(
        blank=True, help_text="Register filter as a query string, e.g. privilege=admin&"
                              "environment=production. Empty: every active identity.")
    # The scope in words when it opened (team and owner names may change later).
    scope_label = models.CharField(max_length=1000, blank=True)
    period = models.CharField(max_length=16, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    due_date = models.DateField()
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    outcome_rule = models.CharField(
        max_length=12, choices=OutcomeRule.choices, default=OutcomeRule.ALL_CONFIRM
    )
    reminder_days = models.JSONField(default=list, blank=True)
    review_interval_days = models.PositiveSmallIntegerField(default=90)
    identity_count = models.PositiveIntegerField(default=0)
    task_count = models.PositiveIntegerField(default=0)
    triage_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["period"], condition=~Q(period=""), name="campaign_period_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("reviews:campaign_detail", args=[self.code])

    @property
    def deadline(self) -> datetime:
        """The end of the due date (UTC): links expire and tasks become overdue here."""
        return datetime.combine(self.due_date + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_overdue(self) -> bool:
        return self.is_open and timezone.now() >= self.deadline


class Attestation(models.Model):
    """One owner's review of one identity in one campaign (technical and business owners
    each get their own), or a triage item for analysts when the identity has no active
    owner. `snapshot` is what the reviewer is shown: later changes to the identity do not
    rewrite what was attested."""

    class Role(models.TextChoices):
        TECHNICAL = "technical", "Technical owner"
        BUSINESS = "business", "Business owner"
        TRIAGE = "triage", "Triage (no owner)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        TRIAGE = "triage", "Needs triage"
        DECIDED = "decided", "Decided"
        EXPIRED = "expired", "Expired (not attested)"

    class Decision(models.TextChoices):
        CONFIRM = "confirm", "Confirmed"
        REVOKE = "revoke", "Revoke"
        REASSIGN = "reassign", "Reassigned"
        CHANGE = "change", "Change requested"

    # No database-level foreign keys on this bulk table: its rows are inserted by one
    # INSERT ... SELECT joining the very rows they point at (valid by construction), and
    # deferred FK checks of 4 keys x a million rows would double a campaign's opening.
    # Django still applies on_delete (cascade / set null) when those rows are deleted.
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="tasks", db_index=False,
        db_constraint=False,
    )
    identity = models.ForeignKey(
        "inventory.Identity", on_delete=models.CASCADE, related_name="+", db_index=False,
        db_constraint=False,
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    reviewer = models.ForeignKey(
        "ownership.Person", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False, db_constraint=False,
    )
    # The identity's team when the campaign opened: progress per team without a join.
    team = models.ForeignKey(
        "ownership.Team", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False, db_constraint=False,
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    decision = models.CharField(max_length=8, choices=Decision.choices, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True)
    snapshot = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=255, blank=True)
    reassigned_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False, db_constraint=False,
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["campaign", "status", "reviewer"], name="attest_campaign_status"),
            models.Index(fields=["reviewer", "status"], name="attest_reviewer_status"),
            models.Index(fields=["identity", "campaign"], name="attest_identity_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot.get('name', self.identity_id)} ({self.get_role_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.TRIAGE)


class ReviewLink(models.Model):
    """An emailed link: only the HMAC of its token is stored. Bound to one recipient and
    either one task or (attestation empty) all the recipient's tasks in the campaign.
    Valid until the campaign's deadline; a task link is spent by its task's decision."""

    token_hash = models.CharField(max_length=64, unique=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+",
                                 db_index=False)
    person = models.ForeignKey("ownership.Person", on_delete=models.CASCADE, related_name="+",
                               db_index=False)
    attestation = models.ForeignKey(
        Attestation, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link for {self.person_id} in campaign {self.campaign_id}"


class Delivery(models.Model):
    """One email of a campaign to one recipient. Unique per (campaign, key, recipient), so
    overlapping scheduler runs queue it once; claimed with an optimistic UPDATE before it
    is sent, so they send it once. Failed sends are retried with backoff and shown."""

    class Kind(models.TextChoices):
        INVITE = "invite", "Invitation"
        REMINDER = "reminder", "Reminder"
        ADDED = "added", "New task"
        RESEND = "resend", "Resent"
        ESCALATION = "escalation", "Escalation"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        ABANDONED = "abandoned", "Failed, gave up"
        SKIPPED = "skipped", "Nothing left to send"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries",
                                 db_index=False)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=64)
    person = models.ForeignKey("ownership.Person", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+", db_index=False)
    recipient = models.EmailField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "key", "recipient"],
                                    name="delivery_once_uniq")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.key} to {self.recipient} ({self.status})"


class Remediation(models.Model):
    """Work a decision leaves for an analyst: deprovision a revoked identity (open until
    discovery shows it disabled or gone), or carry out a requested change."""

    class Kind(models.TextChoices):
        DEPROVISION = "deprovision", "Deprovision"
        CHANGE = "change", "Change request"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    identity = models.ForeignKey("inventory.Identity", on_delete=models.CASCADE,
                                 related_name="+")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="remediations")
    attestation = models.ForeignKey(Attestation, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="review_remediations")
    requested_by = models.CharField(max_length=255)
    details = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "kind"], name="remediation_open")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.identity_id} ({self.status})"
