"""The audit log: append-only, hash-chained record of every change."""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One recorded change. Each row carries the previous row's hash, so altering or
    removing a row breaks the chain at that row; PostgreSQL refuses UPDATE and DELETE."""

    class ActorType(models.TextChoices):
        USER = "user", "User"
        OWNER_LINK = "owner_link", "Owner via link"
        SYSTEM = "system", "System"

    at = models.DateTimeField(db_index=True)
    actor_type = models.CharField(max_length=12, choices=ActorType.choices)
    actor = models.CharField(max_length=255, help_text="Email, owner address or system run id.")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
        db_constraint=False, related_name="+",
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=255, blank=True)
    reason = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "-id"]),
            # The audit page traces one request across every change it made.
            models.Index(fields=["request_id"], name="nhigov_audit_request_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_repr}"


class AuditCheckpoint(models.Model):
    """A signed statement "the chain had `event_count` events ending at `last_event_id`
    with hash `last_hash`". Deleting the newest events (truncation) leaves the chain
    internally consistent; a checkpoint past the surviving end is what reveals it."""

    class Algorithm(models.TextChoices):
        ED25519 = "ed25519", "Ed25519"
        HMAC_SHA256 = "hmac-sha256", "HMAC-SHA256 (derived from SECRET_KEY)"

    at = models.DateTimeField(db_index=True)
    last_event_id = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)
    event_count = models.BigIntegerField()
    algorithm = models.CharField(max_length=16, choices=Algorithm.choices)
    key_id = models.CharField(max_length=64, help_text="SHA-256 of the public key (Ed25519).")
    signature = models.CharField(max_length=128, help_text="Hex signature of the payload.")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"checkpoint {self.pk} at event {self.last_event_id} ({self.algorithm})"


class ApiToken(models.Model):
    """A personal API token (nhigov.lib.tokens). Only an HMAC of the token is stored; the
    token itself is shown once, at creation. `prefix` is its public start, shown so owners
    can recognise it. Read-scoped tokens may only use safe methods."""

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    code = models.UUIDField(unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True, help_text="HMAC-SHA256 of the token.")
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class UserSession(models.Model):
    """Index of a user's live session keys, so deactivating the user can end every one of
    their sessions at once, whatever the session engine (nhigov.lib.sessions)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"session of user {self.user_id}"
