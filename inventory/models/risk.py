"""Risk: findings raised by the rules of `inventory.risk`, each identity's risk state, the
versioned policy document, evaluation runs and the daily snapshots the dashboard draws.

The rules themselves live in code (`inventory.risk.rules`); this module only stores what
they conclude. Findings are written set-based by `inventory.risk.engine`, never one by one.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.signals import post_save


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# Most severe first; also the weight each severity adds to an identity's risk score.
SEVERITY_ORDER = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW]
SEVERITY_WEIGHT = {Severity.CRITICAL: 40, Severity.HIGH: 20, Severity.MEDIUM: 8, Severity.LOW: 3}
SEVERITY_RANK = {s.value: n for n, s in enumerate(SEVERITY_ORDER)}


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    RESOLVED = "resolved", "Resolved"


class Classification(models.TextChoices):
    """The four tags of the baseline (reference seed 003)."""

    ACTIVE = "active", "Active"
    DORMANT = "dormant", "Dormant"
    UNKNOWN = "unknown", "Unknown"
    HIGH_RISK = "high_risk", "High-risk"


class Finding(models.Model):
    """One rule's verdict on one identity. There is one row per (identity, rule): it is
    opened when the condition first holds, resolved when it clears (or by an analyst),
    and reopened in place when it returns, so its history stays on one row.

    `last_detected_at` is written when the finding changes state; while it is open the
    latest evaluation run has seen it too (RiskRun), so a nightly run does not rewrite a
    million unchanged rows just to move a timestamp."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: the unique (identity, rule) index serves lookups by identity.
    identity = models.ForeignKey(
        "inventory.Identity", on_delete=models.CASCADE, related_name="findings",
        db_index=False,
    )
    rule = models.CharField(max_length=64)
    # Copied from the rule so the dashboard groups findings without a join to code.
    severity = models.CharField(max_length=10, choices=Severity.choices)
    # 0 = critical ... 3 = low: the triage queue lists the most severe first.
    severity_rank = models.PositiveSmallIntegerField(default=3)
    owasp = models.CharField(max_length=8, blank=True)
    status = models.CharField(
        max_length=10, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    first_detected_at = models.DateTimeField()
    last_detected_at = models.DateTimeField()
    opened_at = models.DateTimeField(help_text="Start of the current open period.")
    reopen_count = models.PositiveIntegerField(default=0)

    accepted_until = models.DateField(null=True, blank=True)
    # Unindexed: only deleting a user looks findings up by it, and a million-row table
    # should not pay an index on every write for that.
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )
    accepted_reason = models.TextField(blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_why = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Empty when resolved automatically.", db_index=False,
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["identity", "rule"], name="finding_identity_rule_uniq")
        ]
        indexes = [
            # Register filters: identities with a finding of this rule / severity / OWASP id.
            models.Index(fields=["rule", "status", "identity"], name="finding_rule_kx"),
            models.Index(fields=["severity", "status", "identity"], name="finding_sev_kx"),
            models.Index(fields=["owasp", "status", "identity"], name="finding_owasp_kx"),
            models.Index(fields=["status", "identity"], name="finding_status_kx"),
            # Acceptances that expire, found without scanning every finding (partial: tiny).
            models.Index(fields=["accepted_until"], name="finding_accept_kx",
                         condition=models.Q(status="accepted")),
            models.Index(fields=["status", "opened_at", "id"], name="finding_opened_kx"),
            models.Index(fields=["status", "severity_rank", "id"], name="finding_rank_kx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on identity {self.identity_id} ({self.status})"

    @property
    def rule_def(self):
        from inventory.risk.registry import get_rule

        return get_rule(self.rule)


class IdentityRisk(models.Model):
    """What the last evaluation concluded about one identity: the bit mask of the rules
    whose condition holds, the classification, the effective home zone and the zones its
    grants reach. Kept beside the identity (not on it) so the sync engine's bulk writes
    never touch these columns; an evaluation rewrites only rows whose verdict changed."""

    identity = models.OneToOneField(
        "inventory.Identity", on_delete=models.CASCADE, primary_key=True, related_name="risk"
    )
    mask = models.BigIntegerField(default=0)
    classification = models.CharField(max_length=10, choices=Classification.choices, blank=True)
    score = models.PositiveSmallIntegerField(default=0)
    home_zone = models.CharField(max_length=12, blank=True)
    reach = models.PositiveSmallIntegerField(default=0, help_text="Bit set of zones reached.")
    # Last use as of the last write, and when a dormant identity was seen in use again.
    last_used_at = models.DateTimeField(null=True, blank=True)
    reactivated_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["classification", "identity"], name="idrisk_class_kx"),
            models.Index(fields=["home_zone", "identity"], name="idrisk_zone_kx"),
        ]

    def __str__(self) -> str:
        return f"identity {self.identity_id}: {self.classification or 'unclassified'}"


class PolicyVersion(models.Model):
    """One version of the lifecycle and zone policy (YAML). The highest number is in
    force; every version is kept with its author and reason."""

    number = models.PositiveIntegerField(unique=True)
    document = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    author_label = models.CharField(max_length=255)
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"policy v{self.number}"


class RiskRun(models.Model):
    """One evaluation: its scope, what it changed and how long it took."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    trigger = models.CharField(max_length=100, blank=True)
    full = models.BooleanField(default=True, help_text="Whole register, or a set of ids.")
    # Identities evaluated; for a full run of a large register on PostgreSQL, the
    # planner's estimate (an exact count would cost a scan of its own).
    scope_size = models.PositiveIntegerField(default=0)
    policy_number = models.PositiveIntegerField(null=True, blank=True)
    changed = models.PositiveIntegerField(default=0, help_text="Identities whose verdict changed.")
    opened = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0, help_text="Acceptances that ran out.")
    scored = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"risk run {self.started_at:%Y-%m-%d %H:%M}"


class DailySnapshot(models.Model):
    """The dashboard's numbers as they stood on one day, for trend charts."""

    day = models.DateField(unique=True)
    metrics = models.JSONField(default=dict)
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"snapshot {self.day}"


class LeakReport(models.Model):
    """A secret found by a scanner (gitleaks, trufflehog), matched to a credential by its
    key id or by an HMAC of the secret. The secret itself is never stored."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tool = models.CharField(max_length=20)
    detector = models.CharField(max_length=120, blank=True)
    location = models.CharField(max_length=1024, blank=True, help_text="Repository, file, line.")
    commit = models.CharField(max_length=80, blank=True)
    key_id = models.CharField(max_length=255, blank=True, db_index=True)
    secret_hmac = models.CharField(max_length=64, blank=True, db_index=True)
    credential = models.ForeignKey(
        "inventory.Credential", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="leaks",
    )
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-imported_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tool", "location", "commit", "key_id", "secret_hmac"],
                name="leak_report_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tool}: {self.detector} at {self.location}"


class AlertDelivery(models.Model):
    """One alert sent (or to be retried) to one channel: email, webhook or syslog."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email digest"
        WEBHOOK = "webhook", "Webhook"
        SYSLOG = "syslog", "Syslog"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    target = models.CharField(max_length=500)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="alert_due_kx")]

    def __str__(self) -> str:
        return f"{self.channel} → {self.target} ({self.status})"


def _identity_saved(sender, instance, **kwargs) -> None:
    # An analyst's edit (owner, purpose, zone) re-evaluates that identity once the change
    # commits; many saves in one transaction are evaluated together (inventory.risk.hooks).
    from inventory.risk.hooks import schedule_identity

    schedule_identity(instance.pk)


post_save.connect(_identity_saved, sender="inventory.Identity", dispatch_uid="risk-identity-saved")


def _sync_run_saved(sender, instance, update_fields=None, **kwargs) -> None:
    # A finished sync re-evaluates its source (inventory.risk.hooks.run_saved).
    from inventory.risk.hooks import run_saved

    run_saved(instance, update_fields)


post_save.connect(_sync_run_saved, sender="inventory.SyncRun", dispatch_uid="risk-sync-run-saved")
