"""API for people and teams: read by analysts, auditors and admins; created and changed
by analysts and admins, every change audited. There is no DELETE: a person who leaves is
marked inactive so the identities they owned show up as needing a new owner (NHI1)."""

from __future__ import annotations

import django_filters as filters
from django.db.models import Q, QuerySet
from rest_framework import serializers, viewsets

from inventory.api.serializers import PersonRefField, TeamRefField
from inventory.api.views import UUID_REGEX, AuditedWriteMixin, ReadAllPermission
from ownership.models import Person, Team

_REASON = {
    "write_only": True, "required": False, "allow_blank": True, "max_length": 2000,
    "help_text": "Why the change is made; recorded in the audit log.",
}


class PersonSerializer(serializers.ModelSerializer):
    """A person who can own identities. `team` is written as a team code or slug."""

    team = TeamRefField(required=False, allow_null=True)
    has_login = serializers.SerializerMethodField()
    reason = serializers.CharField(**_REASON)

    class Meta:
        model = Person
        fields = ["code", "email", "name", "team", "is_active", "left_at", "has_login", "reason"]
        read_only_fields = ["code", "has_login"]

    def get_has_login(self, person: Person) -> bool:
        return person.user_id is not None

    def validate_email(self, value: str) -> str:
        # Emails are matched case-insensitively everywhere, so they must be unique that way.
        clash = Person.objects.filter(email__iexact=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError("A person with this email already exists.")
        return value


class TeamSerializer(serializers.ModelSerializer):
    """A team; `lead` is written as an active person's email."""

    lead = PersonRefField(required=False, allow_null=True)
    reason = serializers.CharField(**_REASON)

    class Meta:
        model = Team
        fields = ["code", "name", "slug", "description", "lead", "email", "reason"]
        read_only_fields = ["code"]


class PersonFilterSet(filters.FilterSet):
    """People by name/email search, team (code) and whether they are still active."""

    q = filters.CharFilter(method="search", label="Search name or email")
    team = filters.UUIDFilter(field_name="team__code", label="Team code")
    is_active = filters.BooleanFilter()

    class Meta:
        model = Person
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value))


class TeamFilterSet(filters.FilterSet):
    """Teams by name or slug search."""

    q = filters.CharFilter(method="search", label="Search name or slug")

    class Meta:
        model = Team
        fields: list[str] = []

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))


class PersonViewSet(AuditedWriteMixin, viewsets.ModelViewSet):
    """People. Owners are refused: they see only their own identities."""

    lookup_field = "code"
    lookup_value_regex = UUID_REGEX
    permission_classes = [ReadAllPermission]
    serializer_class = PersonSerializer
    filterset_class = PersonFilterSet
    queryset = Person.objects.select_related("team")
    http_method_names = ["get", "post", "patch", "head", "options"]
    audit_type = "person"
    audit_fields = ["email", "name", "team", "is_active", "left_at"]


class TeamViewSet(AuditedWriteMixin, viewsets.ModelViewSet):
    """Teams. Owners are refused: they see only their own identities."""

    lookup_field = "code"
    lookup_value_regex = UUID_REGEX
    permission_classes = [ReadAllPermission]
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    queryset = Team.objects.select_related("lead")
    http_method_names = ["get", "post", "patch", "head", "options"]
    audit_type = "team"
    audit_fields = ["name", "slug", "description", "lead", "email"]
