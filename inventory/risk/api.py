"""API for risk: findings (with accept / resolve / reopen), the rules, policy versions
and daily snapshots. Same roles and scoping as the pages; decisions go through
inventory.risk.actions and are audited."""

from __future__ import annotations

from django.db.models import Subquery
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from inventory.api.views import ReadAllPermission
from inventory.models import DailySnapshot, Finding, Identity, PolicyVersion
from inventory.risk import actions
from inventory.risk import policy as policies
from inventory.risk.forms import AcceptForm
from inventory.risk.registry import all_rules
from inventory.risk.views import FindingFilterSet
from nhigov.lib.api_permissions import AdminWritePermission, RolePermission
from nhigov.lib.audit import Actor
from nhigov.lib.roles import scope_identities, sees_everything


class FindingSerializer(serializers.ModelSerializer):
    identity = serializers.UUIDField(source="identity.code", read_only=True)
    identity_name = serializers.CharField(source="identity.name", read_only=True)
    accepted_by = serializers.EmailField(source="accepted_by.email", read_only=True,
                                         default=None)
    resolved_by = serializers.EmailField(source="resolved_by.email", read_only=True,
                                         default=None)
    title = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = ["code", "identity", "identity_name", "rule", "title", "severity", "owasp",
                  "status", "first_detected_at", "last_detected_at", "opened_at",
                  "reopen_count", "accepted_until", "accepted_by", "accepted_reason",
                  "accepted_at", "resolved_at", "resolved_why", "resolved_by"]
        read_only_fields = fields

    def get_title(self, obj) -> str:
        rule = obj.rule_def
        return rule.title if rule else obj.rule


class FindingAcceptSerializer(serializers.Serializer):
    until = serializers.DateField()
    reason = serializers.CharField(max_length=2000)

    def validate(self, attrs):
        form = AcceptForm(data=attrs)
        if not form.is_valid():
            raise ValidationError(form.errors)
        return form.cleaned_data


class FindingResolveSerializer(serializers.Serializer):
    why = serializers.CharField(max_length=2000)


class FindingReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class FindingViewSet(viewsets.ReadOnlyModelViewSet):
    """Findings; owners see those of their own identities. Analysts decide."""

    serializer_class = FindingSerializer
    permission_classes = [RolePermission]
    lookup_field = "code"
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = FindingFilterSet
    ordering_fields = ["id", "opened_at", "first_detected_at"]

    def get_queryset(self):
        findings = Finding.objects.select_related("identity", "accepted_by", "resolved_by")
        user = self.request.user
        if sees_everything(user):
            return findings
        scoped = scope_identities(user, Identity.objects.all())
        return findings.filter(identity_id__in=Subquery(scoped.values("id")))

    def _decide(self, request, serializer_class, apply):
        finding = self.get_object()
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            apply(finding, data.validated_data, Actor.for_request(request))
        except actions.ActionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(FindingSerializer(finding).data)

    @extend_schema(request=FindingAcceptSerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, code=None):
        return self._decide(request, FindingAcceptSerializer, lambda f, d, a: actions.accept(
            f, request.user, d["until"], d["reason"], a))

    @extend_schema(request=FindingResolveSerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, code=None):
        return self._decide(request, FindingResolveSerializer, lambda f, d, a: actions.resolve(
            f, request.user, d["why"], a))

    @extend_schema(request=FindingReasonSerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, code=None):
        return self._decide(request, FindingReasonSerializer,
                            lambda f, d, a: actions.reopen(f, a, d["reason"]))


class RuleSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    family = serializers.CharField()
    owasp = serializers.CharField()
    owasp_title = serializers.CharField()
    severity = serializers.CharField()
    high_risk = serializers.BooleanField()
    frameworks = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    remedy = serializers.CharField()


class RuleViewSet(viewsets.ViewSet):
    """The rules registry (severities as the policy in force sets them)."""

    permission_classes = [RolePermission]

    @extend_schema(responses=RuleSerializer(many=True))
    def list(self, request):
        policy = policies.current()
        rows = [{**{k: getattr(r, k) for k in RuleSerializer().fields},
                 "severity": policy.severity_of(r.code, r.severity)}
                for r in all_rules() if r.code not in policy.disabled]
        return Response(RuleSerializer(rows, many=True).data)


class PolicyVersionSerializer(serializers.ModelSerializer):
    reason = serializers.CharField(max_length=2000)

    class Meta:
        model = PolicyVersion
        fields = ["number", "document", "author_label", "reason", "created_at"]
        read_only_fields = ["number", "author_label", "created_at"]

    def validate_document(self, value: str) -> str:
        try:
            policies.parse(value)
        except policies.PolicyError as exc:
            raise ValidationError([str(p) for p in exc.problems]) from exc
        return value


class PolicyVersionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Policy versions, newest first; admins create a new one (with a reason)."""

    serializer_class = PolicyVersionSerializer
    permission_classes = [ReadAllPermission, AdminWritePermission]
    lookup_field = "number"
    queryset = PolicyVersion.objects.order_by("-number")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = policies.save_version(
            data["document"], Actor.for_request(self.request), data["reason"],
            author=self.request.user)


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = DailySnapshot
        fields = ["day", "metrics", "taken_at"]


class SnapshotViewSet(viewsets.ReadOnlyModelViewSet):
    """The dashboard's daily snapshots (trends)."""

    serializer_class = SnapshotSerializer
    permission_classes = [ReadAllPermission]
    lookup_field = "day"
    queryset = DailySnapshot.objects.order_by("-day")
