"""API viewsets for the register: identities, credentials, sources and sync runs.

Access follows the same role rules as the pages (nhigov.lib.roles): identities and their
credentials are scoped per role; whole-register data (sources, runs, people, teams) is
refused to owners. Changes go through the same plain functions as the pages and are
recorded in the audit log in the same transaction.
"""

from __future__ import annotations

import base64
import binascii
import json

import django_filters as filters
from django.db import transaction
from django.db.models import Model, ProtectedError, QuerySet
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from inventory.api.serializers import (
    IDENTITY_RELATED,
    CredentialSerializer,
    IdentityDetailSerializer,
    IdentitySerializer,
    IdentityUpdateSerializer,
    SourceSerializer,
    SyncRunSerializer,
)
from inventory.choices import CredentialKind, CredentialStatus, SyncStatus
from inventory.editing import EditError, update_identity
from inventory.filtersets import SORT_FIELDS, IdentityFilterSet
from inventory.models import Credential, Identity, Source, SyncRun
from inventory.source_config import connector_class
from inventory.tasks import check_source, queue_sync
from nhigov.lib import keyset
from nhigov.lib.api_pagination import CodeCursorPagination
from nhigov.lib.api_permissions import AdminWritePermission, RolePermission
from nhigov.lib.audit import Actor, Change, record
from nhigov.lib.roles import can_edit, scope_identities, sees_everything

UUID_REGEX = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


# --- shared API plumbing (also used by ownership.api) ------------------------------------


class ReadAllPermission(BasePermission):
    """Whole-register data: analysts, auditors and admins read; analysts and admins write.
    Owners see only their own identities, so they are refused here."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return sees_everything(request.user)
        return can_edit(request.user)


def natural_key(value):
    """How the audit log names a related object: slug (team, environment), email
    (person), else code. Never the database id, which means nothing outside."""
    if not isinstance(value, Model):
        return value
    for attr in ("slug", "email", "code"):
        if hasattr(value, attr):
            return getattr(value, attr)
    return str(value)


def snapshot(instance: Model, fields: list[str]) -> dict:
    return {f: natural_key(getattr(instance, f)) for f in fields}


class AuditedWriteMixin:
    """Create, update and delete with an audit event in the same transaction.

    `audit_type` names the object type in the log; `audit_fields` are compared before and
    after. A `reason` sent in the body is recorded with the event."""

    audit_type = ""
    audit_fields: list[str] = []

    def _record(self, action: str, obj: Model, before: dict, after: dict, reason: str) -> None:
        change = Change(f"{self.audit_type}.{action}", self.audit_type, obj.code, str(obj),
                        before, after)
        record(Actor.for_request(self.request), change, reason)

    def perform_create(self, serializer) -> None:
        reason = serializer.validated_data.pop("reason", "")
        with transaction.atomic():
            obj = serializer.save()
            self._record("create", obj, {}, snapshot(obj, self.audit_fields), reason)

    def perform_update(self, serializer) -> None:
        reason = serializer.validated_data.pop("reason", "")
        before = snapshot(serializer.instance, self.audit_fields)
        with transaction.atomic():
            obj = serializer.save()
            after = snapshot(obj, self.audit_fields)
            changed = [f for f in self.audit_fields if before[f] != after[f]]
            if changed:
                self._record("update", obj, {f: before[f] for f in changed},
                             {f: after[f] for f in changed}, reason)

    def perform_destroy(self, instance: Model) -> None:
        data = self.request.data
        reason = str(data.get("reason", "")) if isinstance(data, dict) else ""
        before = snapshot(instance, self.audit_fields)
        with transaction.atomic():
            self._record("delete", instance, before, {}, reason)
            instance.delete()


# --- identities --------------------------------------------------------------------------


class ApiIdentityFilterSet(IdentityFilterSet):
    """The register page's filters, unchanged. Only tells the schema that `owner` takes a
    person's code: the filter's method hides its type from drf-spectacular."""

    @extend_schema_field(OpenApiTypes.UUID)
    def filter_owner(self, queryset: QuerySet, name: str, person) -> QuerySet:
        return super().filter_owner(queryset, name, person)


class IdentityOrdering(OrderingFilter):
    """`ordering=` over the register's sortable columns (each has a (column, id) index);
    the keyset paginator applies it, with ties broken by id and NULLs last."""

    ordering_description = "Sort column, `-` prefix for descending: " + ", ".join(SORT_FIELDS)


class IdentityCursorPagination(CodeCursorPagination):
    """Keyset cursor over (sort column, id), NULLs last, built on nhigov.lib.keyset.

    DRF's CursorPagination keys on the sort value alone and skips ties by offset, which
    breaks on nullable columns and on columns where thousands of rows share a value (kind,
    zone, status). The cursor here carries the boundary row's (value, id) and the sort, so
    every page is one indexed range scan and a cursor cannot be replayed under another
    sort."""

    default_sort = "name"

    def paginate_queryset(self, queryset: QuerySet, request: Request, view=None) -> list:
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.sort = self._sort(request, queryset, view)
        after, before = self._read_cursor(request.query_params.get(self.cursor_query_param))
        page = keyset.paginate(queryset, self.sort, self.page_size, after=after, before=before)
        self.next_token, self.prev_token = page.next_cursor, page.prev_cursor
        return page.rows

    def _sort(self, request: Request, queryset: QuerySet, view) -> str:
        terms = IdentityOrdering().get_ordering(request, queryset, view) if view else None
        # The keyset orders by one column then id; further terms add nothing after id.
        return terms[0] if terms else self.default_sort

    def _read_cursor(self, raw: str | None) -> tuple[str, str]:
        if not raw:
            return "", ""
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            direction, token, sort = data["d"], str(data["k"]), data["s"]
        except (ValueError, TypeError, KeyError, binascii.Error) as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        if sort != self.sort or direction not in ("a", "b"):
            raise NotFound(self.invalid_cursor_message)
        return (token, "") if direction == "a" else ("", token)

    def _link(self, direction: str, token: str | None) -> str | None:
        if not token:
            return None
        blob = json.dumps({"d": direction, "k": token, "s": self.sort}, separators=(",", ":"))
        cursor = base64.urlsafe_b64encode(blob.encode()).decode().rstrip("=")
        return replace_query_param(self.base_url, self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        return self._link("a", self.next_token)

    def get_previous_link(self) -> str | None:
        return self._link("b", self.prev_token)


@extend_schema_view(
    list=extend_schema(summary="List identities", description=(
        "The register with the same filters as the register page. Owners see only the "
        "identities they own.")),
    retrieve=extend_schema(summary="One identity with its credentials"),
)
class IdentityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The register. Read by every role (scoped); changed only through PATCH with a reason.
    Identities are created and retired by discovery, so there is no POST, PUT or DELETE."""

    lookup_field = "code"
    lookup_value_regex = UUID_REGEX
    permission_classes = [RolePermission]
    filterset_class = ApiIdentityFilterSet
    filter_backends = [DjangoFilterBackend, IdentityOrdering]
    ordering_fields = SORT_FIELDS
    ordering = [IdentityCursorPagination.default_sort]
    pagination_class = IdentityCursorPagination
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet:
        queryset = Identity.objects.select_related(*IDENTITY_RELATED)
        if self.action != "list":
            queryset = queryset.prefetch_related("credentials")
        return scope_identities(self.request.user, queryset)

    def get_serializer_class(self):
        return IdentitySerializer if self.action == "list" else IdentityDetailSerializer

    @extend_schema(
        summary="Change an identity's ownership and context",
        request=IdentityUpdateSerializer,
        responses={
            200: IdentityDetailSerializer,
            400: OpenApiResponse(description="No reason, unknown field or unknown value."),
        },
    )
    def partial_update(self, request: Request, code=None) -> Response:
        identity = self.get_object()
        body = IdentityUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        reason = changes.pop("reason")
        with transaction.atomic():
            # Lock the row so two editors cannot record the same "before" twice.
            locked = Identity.objects.select_for_update().get(pk=identity.pk)
            try:
                update_identity(locked, changes, Actor.for_request(request), reason)
            except EditError as exc:
                raise ValidationError({"detail": str(exc)}) from exc
        return Response(self.get_serializer(self.get_object()).data)


class CredentialFilterSet(filters.FilterSet):
    """Credentials by the identity that holds them (its code), kind and status."""

    identity = filters.UUIDFilter(field_name="identity__code", label="Identity code")
    kind = filters.MultipleChoiceFilter(choices=CredentialKind.choices)
    status = filters.MultipleChoiceFilter(choices=CredentialStatus.choices)

    class Meta:
        model = Credential
        fields: list[str] = []


class CredentialViewSet(viewsets.ReadOnlyModelViewSet):
    """Credentials: metadata only, read-only, scoped to the identities the user may see."""

    lookup_field = "code"
    lookup_value_regex = UUID_REGEX
    permission_classes = [RolePermission]
    serializer_class = CredentialSerializer
    filterset_class = CredentialFilterSet

    def get_queryset(self) -> QuerySet:
        queryset = Credential.objects.select_related("identity")
        if sees_everything(self.request.user):
            return queryset
        visible = scope_identities(self.request.user, Identity.objects.all())
        return queryset.filter(identity__in=visible.values("id"))


# --- sources and sync runs ---------------------------------------------------------------


class SyncQueuedSerializer(serializers.Serializer):
    """A run queued for a worker: the run row appears when the worker starts it."""

    status = serializers.CharField(help_text="Always `queued`.")
    task_id = serializers.CharField(help_text="The Celery task id.")
    source = serializers.UUIDField(help_text="The source's code.")
    runs = serializers.URLField(help_text="Where the run will be listed (newest first).")


class CheckResultSerializer(serializers.Serializer):
    """What "Test connection" found: who nhigov is at the source and what it can see."""

    ok = serializers.BooleanField()
    summary = serializers.CharField()
    details = serializers.DictField(help_text="Connector-specific facts (counts, identity).")
    error_kind = serializers.CharField(
        help_text="Empty when ok; else bad_config, unreachable, access_denied, no_worker "
                  "(no worker answered) or error.")


@extend_schema_view(
    destroy=extend_schema(responses={
        204: OpenApiResponse(description="Deleted, with its sync runs."),
        409: OpenApiResponse(description="The source still has identities; disable it."),
    }),
)
class SourceViewSet(AuditedWriteMixin, viewsets.ModelViewSet):
    """Discovery sources: read by analysts, auditors and admins; changed only by admins.
    Every change is audited; config never holds credentials. Running a source and testing
    its connection are operations, open to analysts and admins."""

    lookup_field = "code"
    lookup_value_regex = UUID_REGEX
    permission_classes = [ReadAllPermission, AdminWritePermission]
    serializer_class = SourceSerializer
    queryset = Source.objects.all()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    audit_type = "source"
    audit_fields = ["name", "kind", "config", "schedule", "enabled", "missing_threshold"]

    def get_permissions(self) -> list[BasePermission]:
        if self.action in ("sync", "test"):
            return [ReadAllPermission()]  # POST: analysts and admins (can_edit)
        return super().get_permissions()

    def perform_update(self, serializer) -> None:
        schedule = serializer.validated_data.get("schedule", serializer.instance.schedule)
        if schedule != serializer.instance.schedule:
            # The planned run belongs to the old schedule: the dispatcher re-plans it.
            serializer.instance.next_run_at = None
        super().perform_update(serializer)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        try:
            return super().destroy(request, *args, **kwargs)
        except ProtectedError:
            # Identities keep their source for history: retire a source by disabling it.
            return Response(
                {"detail": "This source still has identities; disable it instead."},
                status=status.HTTP_409_CONFLICT,
            )

    @extend_schema(
        summary="Run this source now",
        description=(
            "Queues a discovery run on a worker and answers 202 with the task id; the run "
            "appears under /sync-runs/ when a worker starts it. Without a broker (the "
            "embedded demo) the run happens during the request and the finished run is "
            "returned with 200. Analysts and admins."),
        request=None,
        responses={
            202: SyncQueuedSerializer,
            200: SyncRunSerializer,
            400: OpenApiResponse(description="The source has no connector (a file source)."),
            409: OpenApiResponse(description="Another run of this source is going on."),
        },
    )
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, code=None) -> Response:
        source = self.get_object()
        if connector_class(source.kind) is None:
            raise ValidationError({"detail": f"A {source.get_kind_display()} source has no "
                                             "connector to run; it is fed by imports."})
        queued = queue_sync(source, Actor.for_request(request))
        if queued.skipped:
            return Response({"detail": "Another run of this source is going on."},
                            status=status.HTTP_409_CONFLICT)
        if queued.run is not None:
            return Response(SyncRunSerializer(queued.run).data)
        runs = request.build_absolute_uri(reverse("api-syncrun-list")) + f"?source={code}"
        body = {"status": "queued", "task_id": queued.task_id, "source": source.code,
                "runs": runs}
        return Response(SyncQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Test this source's connection",
        description=(
            "Runs the connector's check on a worker (where the source credentials are) and "
            "waits for it. Always 200: a failure is `ok: false` with a summary and an error "
            "kind. Reads only. Analysts and admins."),
        request=None,
        responses={200: CheckResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, code=None) -> Response:
        result = check_source(self.get_object())
        return Response(CheckResultSerializer(result).data)


class SyncRunFilterSet(filters.FilterSet):
    """Runs by source code and status."""

    source = filters.UUIDFilter(field_name="source__code", label="Source code")
    status = filters.MultipleChoiceFilter(choices=SyncStatus.choices)

    class Meta:
        model = SyncRun
        fields: list[str] = []


class NewestFirstPagination(CodeCursorPagination):
    ordering = "-id"


class SyncRunViewSet(viewsets.ReadOnlyModelViewSet):
    """The record of discovery runs, newest first; written only by inventory.sync."""

    lookup_field = "code"
    lookup_value_regex = UUID_REGEX
    permission_classes = [ReadAllPermission]
    serializer_class = SyncRunSerializer
    filterset_class = SyncRunFilterSet
    pagination_class = NewestFirstPagination
    queryset = SyncRun.objects.select_related("source")
