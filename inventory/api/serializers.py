"""API representations of the register: identities, credentials, sources and sync runs.

Objects are known by their UUID `code`, never the database id. Related objects appear as
small nested representations on read; on write they are named by a natural key (a
person's email, a team's code or slug, an environment's slug). No field here carries a
secret value, and `data_hash` (a sync implementation detail) is never exposed.
"""

from __future__ import annotations

import uuid

from django.db.models import TextChoices
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.choices import (
    CredentialKind,
    CredentialStatus,
    IdentityKind,
    IdentityStatus,
    SourceKind,
    SyncStatus,
    Zone,
)
from inventory.models import Credential, Environment, Identity, Source, SyncRun
from inventory.source_config import clean_schedule, secret_like_config
from ownership.models import Person, Team

# --- enumerations ------------------------------------------------------------------------


def _named_choice_field(choices: type[TextChoices], name: str) -> type[serializers.ChoiceField]:
    """A ChoiceField class whose enum is its own named schema component. Several models
    share field names (`kind`, `status`) with different choice sets; naming each set keeps
    the OpenAPI enum names stable instead of hash-suffixed."""
    schema = {
        "type": "string",
        "enum": list(choices.values),
        "description": "\n".join(f"* `{value}` - {label}" for value, label in choices.choices),
    }
    field_class = type(f"{name}Field", (serializers.ChoiceField,), {"__doc__": name})
    return extend_schema_field(schema, component_name=name)(field_class)


IdentityKindField = _named_choice_field(IdentityKind, "IdentityKind")
IdentityStatusField = _named_choice_field(IdentityStatus, "IdentityStatus")
CredentialKindField = _named_choice_field(CredentialKind, "CredentialKind")
CredentialStatusField = _named_choice_field(CredentialStatus, "CredentialStatus")
SourceKindField = _named_choice_field(SourceKind, "SourceKind")
SyncStatusField = _named_choice_field(SyncStatus, "SyncStatus")


# --- small nested representations ---------------------------------------------------------


class PersonBriefSerializer(serializers.ModelSerializer):
    """A person as shown inside other objects."""

    class Meta:
        model = Person
        fields = ["code", "email", "name"]
        read_only_fields = fields


class TeamBriefSerializer(serializers.ModelSerializer):
    """A team as shown inside other objects."""

    class Meta:
        model = Team
        fields = ["code", "name"]
        read_only_fields = fields


class SourceBriefSerializer(serializers.ModelSerializer):
    """A discovery source as shown inside other objects."""

    kind = SourceKindField(choices=SourceKind.choices, read_only=True)

    class Meta:
        model = Source
        fields = ["code", "name", "kind"]
        read_only_fields = fields


class IdentityBriefSerializer(serializers.ModelSerializer):
    """An identity as shown inside its credentials."""

    class Meta:
        model = Identity
        fields = ["code", "name"]
        read_only_fields = fields


# --- reference fields: natural key on write, nested representation on read ----------------


def _lookup_text(data) -> str:
    """A natural key as sent, refused if it holds a NUL: PostgreSQL text cannot, and the
    lookup would fail with a server error instead of a 400."""
    value = str(data).strip()
    if "\x00" in value:
        raise serializers.ValidationError("Null characters are not allowed.")
    return value


class _SlugField(serializers.SlugRelatedField):
    """SlugRelatedField that answers 400, not 500, to a slug holding a NUL."""

    def to_internal_value(self, data):
        return super().to_internal_value(_lookup_text(data))


class _RefField(serializers.RelatedField):
    """Natural key on write, the `brief` nested representation on read."""

    brief: type[serializers.ModelSerializer]
    key: str

    def to_representation(self, value) -> dict:
        return self.brief(value).data

    def get_choices(self, cutoff: int | None = None) -> dict:
        # The browsable API keys its <select> by what a client sends: the natural key.
        queryset = self.get_queryset()
        if cutoff is not None:
            queryset = queryset[:cutoff]
        return {getattr(obj, self.key): self.display_value(obj) for obj in queryset}


class PersonRefField(_RefField):
    """Written as a person's email (case-insensitive); read as {code, email, name}.
    Only active people can be assigned: one who has left cannot answer for anything."""

    default_error_messages = {
        "unknown": "No active person has the email {value!r}.",
        "ambiguous": "Several people match the email {value!r}; use the exact spelling.",
    }
    brief, key = PersonBriefSerializer, "email"

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("queryset", Person.objects.filter(is_active=True))
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Person:
        value = _lookup_text(data)
        matches = list(self.get_queryset().filter(email__iexact=value)[:5])
        if not matches:
            self.fail("unknown", value=value)
        exact = [p for p in matches if p.email == value]
        if len(matches) > 1 and len(exact) != 1:
            self.fail("ambiguous", value=value)
        return exact[0] if exact else matches[0]


class TeamRefField(_RefField):
    """Written as a team's code (UUID) or slug; read as {code, name}."""

    brief, key = TeamBriefSerializer, "slug"

    default_error_messages = {"unknown": "No team has the code or slug {value!r}."}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("queryset", Team.objects.all())
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Team:
        value = _lookup_text(data)
        try:
            lookup = {"code": uuid.UUID(value)}
        except ValueError:
            lookup = {"slug": value}
        team = self.get_queryset().filter(**lookup).first()
        if team is None:
            self.fail("unknown", value=value)
        return team


class _RefFieldSchema(OpenApiSerializerFieldExtension):
    """Schema of the reference fields: a string in requests, the nested object in responses
    (COMPONENT_SPLIT_REQUEST gives each direction its own component)."""

    target_class = PersonRefField
    brief = PersonBriefSerializer
    request_type = OpenApiTypes.EMAIL

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return build_basic_type(self.request_type)
        return auto_schema.resolve_serializer(self.brief, direction).ref


class _TeamRefFieldSchema(_RefFieldSchema):
    target_class = TeamRefField
    brief = TeamBriefSerializer
    request_type = OpenApiTypes.STR


def _environment_field(**kwargs) -> serializers.SlugRelatedField:
    return _SlugField(
        slug_field="slug", queryset=Environment.objects.all(), **kwargs
    )


# --- credentials -------------------------------------------------------------------------

_CREDENTIAL_FIELDS = [
    "code", "kind", "external_id", "fingerprint", "created_at_source", "last_used_at",
    "expires_at", "status", "key_algorithm", "key_size",
]


class CredentialBriefSerializer(serializers.ModelSerializer):
    """A credential as listed on its identity: metadata only, never a secret value."""

    kind = CredentialKindField(choices=CredentialKind.choices, read_only=True)
    status = CredentialStatusField(choices=CredentialStatus.choices, read_only=True)

    class Meta:
        model = Credential
        fields = _CREDENTIAL_FIELDS
        read_only_fields = fields


class CredentialSerializer(CredentialBriefSerializer):
    """A credential with the identity that holds it. The model has no secret value field,
    so there is nothing secret to leak here."""

    identity = IdentityBriefSerializer(read_only=True)
    attributes = serializers.DictField(read_only=True)

    class Meta:
        model = Credential
        fields = [*_CREDENTIAL_FIELDS, "identity", "attributes", "first_seen_at", "updated_at"]
        read_only_fields = fields


# --- identities --------------------------------------------------------------------------

# Relations every identity representation reads; list views select them in one query.
IDENTITY_RELATED = (
    "source", "environment", "technical_owner", "business_owner", "backup_owner", "team",
)


class IdentitySerializer(serializers.ModelSerializer):
    """An identity as listed in the register."""

    source = SourceBriefSerializer(read_only=True)
    kind = IdentityKindField(choices=IdentityKind.choices, read_only=True)
    status = IdentityStatusField(choices=IdentityStatus.choices, read_only=True)
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    technical_owner = PersonBriefSerializer(read_only=True, allow_null=True)
    business_owner = PersonBriefSerializer(read_only=True, allow_null=True)
    backup_owner = PersonBriefSerializer(read_only=True, allow_null=True)
    team = TeamBriefSerializer(read_only=True, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Identity
        fields = [
            "code", "source", "external_id", "provider", "kind", "name", "path",
            "environment", "zone", "purpose", "workload", "change_ticket",
            "technical_owner", "business_owner", "backup_owner", "team",
            "privilege", "permissions_summary", "interactive_login", "auth_method",
            "created_at_source", "last_used_at", "last_rotated_at", "expires_at",
            "status", "first_seen_at", "last_seen_at", "missing_since", "last_attested_at",
            "next_review_due", "tags", "risk_score", "updated_at",
        ]
        read_only_fields = fields


class IdentityDetailSerializer(IdentitySerializer):
    """One identity with its provider details, owner hints and credentials."""

    attributes = serializers.DictField(read_only=True)
    owner_hints = serializers.DictField(read_only=True)
    credentials = CredentialBriefSerializer(many=True, read_only=True)

    class Meta(IdentitySerializer.Meta):
        fields = [*IdentitySerializer.Meta.fields, "attributes", "owner_hints", "credentials"]
        read_only_fields = fields


class IdentityUpdateSerializer(serializers.Serializer):
    """Body of PATCH /identities/{code}/: the fields to change, plus the reason (required).

    Only the fields sent are changed. Unknown field names are refused rather than ignored,
    so a client never believes it changed something it cannot change."""

    reason = serializers.CharField(
        max_length=2000,
        help_text="Why the change is made; recorded in the audit log.",
        error_messages={
            "required": "A reason is required for every change.",
            "blank": "A reason is required for every change.",
        },
    )
    technical_owner = PersonRefField(required=False, allow_null=True)
    business_owner = PersonRefField(required=False, allow_null=True)
    backup_owner = PersonRefField(required=False, allow_null=True)
    team = TeamRefField(required=False, allow_null=True)
    environment = _environment_field(required=False, allow_null=True)
    zone = serializers.ChoiceField(choices=Zone.choices, required=False, allow_blank=True)
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    workload = serializers.CharField(required=False, allow_blank=True, max_length=255)
    change_ticket = serializers.CharField(required=False, allow_blank=True, max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=50
    )

    # DRF (and drf-spectacular) mark a PATCH body partial, which would make `reason`
    # optional. This body is never partial: every PATCH must carry a reason.
    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        pass

    def validate(self, attrs: dict) -> dict:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                f"These fields cannot be edited: {', '.join(unknown)}."
            )
        if set(attrs) == {"reason"}:
            raise serializers.ValidationError("Give at least one field to change.")
        if "tags" in attrs:
            # Keep the order given, drop blanks and repeats: tags are a set to people.
            attrs["tags"] = list(dict.fromkeys(t.strip() for t in attrs["tags"] if t.strip()))
        return attrs


# --- sources and sync runs ---------------------------------------------------------------

class SourceSerializer(serializers.ModelSerializer):
    """A discovery source. Its config is non-secret JSON: source credentials come from the
    environment, mounted files or workload identity, never from the database."""

    kind = SourceKindField(choices=SourceKind.choices)
    config = serializers.DictField(required=False, help_text="Non-secret settings (JSON).")
    reason = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=2000,
        help_text="Why the change is made; recorded in the audit log.",
    )

    class Meta:
        model = Source
        fields = [
            "code", "name", "kind", "config", "schedule", "enabled", "missing_threshold",
            "created_at", "updated_at", "reason",
        ]
        read_only_fields = ["code", "created_at", "updated_at"]

    def validate_config(self, value: dict) -> dict:
        found = secret_like_config(value)
        if found:
            raise serializers.ValidationError(
                f"These entries look like secrets: {', '.join(found)}. Source credentials "
                "are never stored in the database: provide them through the environment, "
                "a mounted file or workload identity, and name that here instead "
                "(e.g. 'token_file' or 'password_env')."
            )
        return value

    def validate_kind(self, value: str) -> str:
        if self.instance is not None and value != self.instance.kind:
            raise serializers.ValidationError(
                "The kind of a source cannot change; create a new source instead."
            )
        return value

    def validate_schedule(self, value: str) -> str:
        # Shared with the source form: standard cron field order, checked field by field.
        try:
            return clean_schedule(value)
        except ValueError as exc:
            raise serializers.ValidationError(
                f"{exc} Leave it empty for manual runs only.") from exc

    def validate_missing_threshold(self, value: float) -> float:
        if not 0 <= value <= 1:
            raise serializers.ValidationError("Give a share between 0 and 1 (e.g. 0.2).")
        return value


class SyncRunSerializer(serializers.ModelSerializer):
    """One discovery run of a source, with its counts and error text."""

    source = SourceBriefSerializer(read_only=True)
    status = SyncStatusField(choices=SyncStatus.choices, read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            "code", "source", "status", "started_at", "finished_at", "seen", "created",
            "updated", "unchanged", "missing", "returned", "error", "triggered_by",
        ]
        read_only_fields = fields
