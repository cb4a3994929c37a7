"""The register itself: identities, their credentials, and environments.

No field here ever holds a secret value: credentials are known by native identifiers
(access key id, Vault accessor, Kubernetes UID, certificate SHA-256).
"""

import uuid

from django.db import models
from django.urls import reverse

from inventory.choices import (
    AuthMethod,
    CredentialKind,
    CredentialStatus,
    IdentityKind,
    IdentityStatus,
    Privilege,
    Provider,
    Zone,
)


class Environment(models.Model):
    """A deployment environment (production, staging, ...), shared across sources."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    is_production = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_production", "name"]

    def __str__(self) -> str:
        return self.name


def _sort_index(field: str) -> models.Index:
    # Keyset pagination orders by (field, id); one composite index per sortable column.
    return models.Index(fields=[field, "id"], name=f"identity_{field.strip('-')}_kx"[:30])


class Identity(models.Model):
    """A machine identity: who owns it, what it may touch, how it authenticates and when
    it expires. Keyed by (source, external_id) for discovery; by `code` in URLs/emails."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.ForeignKey("inventory.Source", on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=512)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    kind = models.CharField(max_length=32, choices=IdentityKind.choices)
    name = models.CharField(max_length=255)
    path = models.CharField(max_length=1024, blank=True)

    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    zone = models.CharField(max_length=12, choices=Zone.choices, blank=True)
    purpose = models.TextField(blank=True)
    workload = models.CharField(max_length=255, blank=True)
    change_ticket = models.CharField(max_length=100, blank=True)

    technical_owner = models.ForeignKey(
        "ownership.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    business_owner = models.ForeignKey(
        "ownership.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    backup_owner = models.ForeignKey(
        "ownership.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "ownership.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    privilege = models.CharField(
        max_length=10, choices=Privilege.choices, default=Privilege.UNKNOWN
    )
    permissions_summary = models.TextField(blank=True)
    interactive_login = models.BooleanField(default=False, db_index=True)
    auth_method = models.CharField(
        max_length=24, choices=AuthMethod.choices, default=AuthMethod.UNKNOWN, db_index=True
    )

    created_at_source = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_rotated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(
        max_length=16, choices=IdentityStatus.choices, default=IdentityStatus.ACTIVE
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    missing_since = models.DateTimeField(null=True, blank=True)
    last_attested_at = models.DateTimeField(null=True, blank=True)
    next_review_due = models.DateField(null=True, blank=True)
    # Set when an owner answers "revoke" in a review: the identity should be disabled or
    # deleted at its source. Discovery's status shows when that has happened.
    deprovision_requested_at = models.DateTimeField(null=True, blank=True, editable=False)

    tags = models.JSONField(default=list, blank=True)
    # Non-secret provider details (policies, trust, labels) and owner hints from the source.
    attributes = models.JSONField(default=dict, blank=True)
    owner_hints = models.JSONField(default=dict, blank=True)
    # Digest of the discovered fields: a sync skips the write when it is unchanged.
    data_hash = models.CharField(max_length=64, blank=True)
    risk_score = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "identities"
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="identity_source_ext_uniq"
            )
        ]
        # Each sortable column has a (column, id) index; it also serves that column's filter.
        indexes = [
            _sort_index("name"),
            _sort_index("kind"),
            _sort_index("provider"),
            _sort_index("zone"),
            _sort_index("privilege"),
            _sort_index("status"),
            _sort_index("last_used_at"),
            _sort_index("expires_at"),
            _sort_index("last_rotated_at"),
            _sort_index("first_seen_at"),
            _sort_index("created_at_source"),
            _sort_index("risk_score"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inventory:identity_detail", args=[self.code])

    @property
    def owners(self) -> list:
        return [p for p in (self.technical_owner, self.business_owner, self.backup_owner) if p]


class Credential(models.Model):
    """A credential held by an identity (access key, secret-id, token, certificate).
    Metadata only: the secret itself is never stored."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=20, choices=CredentialKind.choices, db_index=True)
    external_id = models.CharField(
        max_length=255, help_text="Native identifier: key id, accessor, serial number."
    )
    fingerprint = models.CharField(
        max_length=128, blank=True, db_index=True, help_text="e.g. certificate SHA-256."
    )
    created_at_source = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status = models.CharField(
        max_length=10, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE
    )
    key_algorithm = models.CharField(max_length=20, blank=True)
    key_size = models.PositiveIntegerField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["identity_id", "kind", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["identity", "kind", "external_id"], name="credential_identity_ext_uniq"
            )
        ]
        indexes = [models.Index(fields=["external_id"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.external_id}"
