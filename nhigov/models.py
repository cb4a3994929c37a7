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
        indexes = [models.Index(fields=["object_type", "object_id", "-id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_repr}"
