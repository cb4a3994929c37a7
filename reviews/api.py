"""API for review campaigns and attestation tasks, with the same role rules as the pages:
analysts, auditors and admins read campaigns (analysts and admins open, resend and close
them); every role lists attestations it may see (owners only their own) and a task's
reviewer answers it (analysts answer triage items). Logic lives in the plain modules."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from inventory.api.serializers import _named_choice_field
from inventory.api.views import UUID_REGEX, ReadAllPermission
from nhigov.lib.api_pagination import CodeCursorPagination
from nhigov.lib.audit import Actor, Change, record
from nhigov.lib.roles import can_edit, role_of, sees_everything
from ownership.models import Person
from reviews import campaigns as ops
from reviews import mailing, progress
from reviews.decisions import AlreadyDecided, DecisionError, decide
from reviews.forms import CampaignForm, DecisionForm
from reviews.models import Attestation, Campaign
from reviews.snapshot import Shown

A = Attestation
CampaignKindField = _named_choice_field(Campaign.Kind, "CampaignKind")
CampaignStatusField = _named_choice_field(Campaign.Status, "CampaignStatus")
OutcomeRuleField = _named_choice_field(Campaign.OutcomeRule, "OutcomeRule")
AttestationRoleField = _named_choice_field(A.Role, "AttestationRole")
AttestationStatusField = _named_choice_field(A.Status, "AttestationStatus")
DecisionField = _named_choice_field(A.Decision, "Decision")


class NewestFirst(CodeCursorPagination):
    ordering = "-id"


# --- campaigns ---------------------------------------------------------------------------


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign with its counts (fixed when it opened)."""

    kind = CampaignKindField(choices=Campaign.Kind.choices, read_only=True)
    status = CampaignStatusField(choices=Campaign.Status.choices, read_only=True)
    outcome_rule = OutcomeRuleField(choices=Campaign.OutcomeRule.choices, read_only=True)
    reminder_days = serializers.ListField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = Campaign
        fields = ["code", "name", "kind", "status", "scope", "period", "opened_at", "due_date",
                  "closed_at", "created_by", "outcome_rule", "reminder_days",
                  "review_interval_days", "identity_count", "task_count", "triage_count"]
        read_only_fields = fields


class ProgressSerializer(serializers.Serializer):
    """Task counts of a campaign or of one of its groups."""

    total = serializers.IntegerField()
    open = serializers.IntegerField(help_text="Pending owner tasks plus triage items.")
    pending = serializers.IntegerField()
    triage = serializers.IntegerField()
    decided = serializers.IntegerField()
    expired = serializers.IntegerField()
    confirm = serializers.IntegerField()
    revoke = serializers.IntegerField()
    reassign = serializers.IntegerField()
    change = serializers.IntegerField()
    done_pct = serializers.IntegerField(help_text="Answered share, reassigned tasks aside.")
    overdue = serializers.IntegerField(help_text="Open tasks past the deadline.")


class TeamProgressSerializer(ProgressSerializer):
    team = serializers.UUIDField(source="team__code", allow_null=True)
    team_name = serializers.CharField(source="team__name", allow_null=True)


class OwnerProgressSerializer(ProgressSerializer):
    owner = serializers.UUIDField(source="reviewer__code", allow_null=True)
    owner_email = serializers.CharField(source="reviewer__email", allow_null=True)


class CampaignProgressSerializer(serializers.Serializer):
    """Progress of a campaign: overall, per team (top 100) and per owner (top 100)."""

    totals = ProgressSerializer()
    teams = TeamProgressSerializer(many=True)
    owners = OwnerProgressSerializer(many=True)
    attested = serializers.IntegerField(help_text="Identities attested since it opened.")
    mail = serializers.DictField(child=serializers.IntegerField(),
                                 help_text="Emails by delivery status.")


class CampaignCreateSerializer(serializers.Serializer):
    """Open an ad hoc campaign over a register filter (query string; empty = all active)."""

    name = serializers.CharField(max_length=200)
    scope = serializers.CharField(required=False, allow_blank=True, default="",
                                  max_length=4000)
    due_date = serializers.DateField()
    outcome_rule = OutcomeRuleField(choices=Campaign.OutcomeRule.choices, required=False)
    reminder_days = serializers.ListField(child=serializers.IntegerField(min_value=0),
                                          required=False)

    def validate(self, attrs: dict) -> dict:
        form = CampaignForm(data={
            "name": attrs["name"], "scope": attrs.get("scope", ""),
            "due_date": attrs["due_date"],
            "outcome_rule": attrs.get("outcome_rule") or CampaignForm().initial["outcome_rule"],
            "reminder_days": ",".join(str(d) for d in attrs.get(
                "reminder_days", CampaignForm().initial["reminder_days"].split(", "))),
        })
        if not form.is_valid():
            raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        return form.cleaned_data


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ResendSerializer(serializers.Serializer):
    owner = serializers.UUIDField(required=False, help_text="One owner's code; default all "
                                                            "owners with pending tasks.")


class QueuedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Emails queued.")


class CloseResultSerializer(serializers.Serializer):
    expired = serializers.IntegerField(help_text="Tasks that expired, not attested.")


@extend_schema_view(
    list=extend_schema(summary="List campaigns (newest first)"),
    retrieve=extend_schema(summary="One campaign"),
)
class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Review campaigns. Analysts, auditors and admins read; analysts and admins open,
    resend and close. Owners are refused: they see their own tasks under /attestations/."""

    lookup_field = "code"
    lookup_value_regex = UUID_REGEX
    permission_classes = [ReadAllPermission]
    serializer_class = CampaignSerializer
    queryset = Campaign.objects.all()
    pagination_class = NewestFirst

    @extend_schema(summary="Open a campaign", request=CampaignCreateSerializer,
                   responses={201: CampaignSerializer,
                              400: OpenApiResponse(description="Invalid filter or date.")})
    def create(self, request: Request) -> Response:
        body = CampaignCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        campaign = ops.open_campaign(
            name=data["name"], scope=data["scope"], due_date=data["due_date"],
            actor=Actor.for_request(request), outcome_rule=data["outcome_rule"],
            reminder_days=data["reminder_days"])
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Progress per team and per owner",
                   responses={200: CampaignProgressSerializer})
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, code=None) -> Response:
        campaign = self.get_object()
        body = {"totals": progress.totals(campaign), "teams": progress.per_team(campaign),
                "owners": progress.per_owner(campaign), "attested": progress.attested(campaign),
                "mail": progress.mail(campaign)}
        return Response(CampaignProgressSerializer(body).data)

    @extend_schema(summary="Close: remaining tasks expire, not attested",
                   request=ReasonSerializer, responses={200: CloseResultSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, code=None) -> Response:
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        expired = ops.close_campaign(self.get_object(), Actor.for_request(request),
                                     body.validated_data.get("reason", ""))
        return Response({"expired": expired})

    @extend_schema(summary="Email pending owners again, with fresh links",
                   request=ResendSerializer, responses={202: QueuedSerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, code=None) -> Response:
        campaign = self.get_object()
        body = ResendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not campaign.is_open:
            raise ValidationError({"detail": "This campaign is closed."})
        owner = body.validated_data.get("owner")
        person = Person.objects.filter(code=owner).first() if owner else None
        if owner and person is None:
            raise ValidationError({"owner": "No such person."})
        queued = mailing.queue_resend(campaign, request.user.email, getattr(person, "pk", None))
        record(Actor.for_request(request), Change(
            "campaign.resend", "campaign", campaign.code, campaign.name, {},
            {"owners": queued, "owner": person.email if person else "all pending"}))
        ops._kick_mail(campaign.pk)
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


# --- attestations ------------------------------------------------------------------------


class AttestationSerializer(serializers.ModelSerializer):
    """One task: who reviews which identity, what they were shown, what they decided."""

    campaign = serializers.SlugRelatedField(slug_field="code", read_only=True)
    identity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    reviewer = serializers.SlugRelatedField(slug_field="email", read_only=True)
    reassigned_from = serializers.SlugRelatedField(slug_field="code", read_only=True)
    role = AttestationRoleField(choices=A.Role.choices, read_only=True)
    status = AttestationStatusField(choices=A.Status.choices, read_only=True)
    decision = DecisionField(choices=A.Decision.choices, read_only=True, allow_blank=True)
    snapshot = serializers.DictField(read_only=True,
                                     help_text="The identity as shown to the reviewer.")
    answers = serializers.DictField(read_only=True)

    class Meta:
        model = A
        fields = ["code", "campaign", "identity", "role", "reviewer", "status", "decision",
                  "comment", "answers", "snapshot", "created_at", "decided_at", "decided_by",
                  "reassigned_from"]
        read_only_fields = fields


class DecideSerializer(serializers.Serializer):
    """An answer. `comment` is required unless confirming; `new_owner` for reassign."""

    decision = DecisionField(choices=A.Decision.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    still_needed = serializers.BooleanField(required=False, allow_null=True, default=None)
    maintainer = serializers.CharField(required=False, allow_blank=True, max_length=255)
    minimum_permissions = serializers.CharField(required=False, allow_blank=True,
                                                max_length=4000)
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=4000,
                                    help_text="Correction on confirm.")
    zone = serializers.CharField(required=False, allow_blank=True,
                                 help_text="Correction on confirm.")
    expires_on = serializers.DateField(required=False, allow_null=True,
                                       help_text="Correction on confirm.")
    new_owner = serializers.EmailField(required=False, allow_blank=True)


class AttestationFilterSet(filters.FilterSet):
    campaign = filters.UUIDFilter(field_name="campaign__code", label="Campaign code")
    reviewer = filters.UUIDFilter(field_name="reviewer__code", label="Reviewer's code")
    identity = filters.UUIDFilter(field_name="identity__code", label="Identity code")
    status = filters.MultipleChoiceFilter(choices=A.Status.choices)
    decision = filters.MultipleChoiceFilter(choices=A.Decision.choices)
    role = filters.MultipleChoiceFilter(choices=A.Role.choices)

    class Meta:
        model = A
        fields: list[str] = []


class AnyRole(BasePermission):
    def has_permission(self, request, view) -> bool:
        return role_of(request.user) is not None


@extend_schema_view(
    list=extend_schema(summary="List attestation tasks", description=(
        "Every task for analysts, auditors and admins; an owner sees only their own.")),
    retrieve=extend_schema(summary="One attestation task"),
)
class AttestationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    """Attestation tasks, scoped per role. POST .../decide/ answers one: its reviewer, or an
    analyst or admin for a triage item."""

    lookup_field = "code"
    lookup_value_regex = UUID_REGEX
    permission_classes = [AnyRole]
    serializer_class = AttestationSerializer
    filterset_class = AttestationFilterSet

    def get_queryset(self) -> QuerySet:
        queryset = A.objects.select_related("campaign", "identity", "reviewer",
                                            "reassigned_from")
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return queryset.none()
        if sees_everything(self.request.user):
            return queryset
        return queryset.filter(reviewer__user=self.request.user)  # owners: their own

    @extend_schema(summary="Answer this task", request=DecideSerializer,
                   responses={200: AttestationSerializer,
                              400: OpenApiResponse(description="Missing comment, unknown "
                                                               "person, closed campaign."),
                              403: OpenApiResponse(description="Not your task."),
                              409: OpenApiResponse(description="Already answered.")})
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, code=None) -> Response:
        task = self.get_object()
        reviewer = task.reviewer is not None and task.reviewer.user_id == request.user.pk
        if not (reviewer or (task.status == A.Status.TRIAGE and can_edit(request.user))):
            raise PermissionDenied("Only this task's reviewer can answer it.")
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        form = _form_for(task, body.validated_data)
        if not form.is_valid():
            raise ValidationError({k: [str(e) for e in v] for k, v in form.errors.items()})
        try:
            decided = decide(task, form.answer(), Actor.for_request(request))
        except AlreadyDecided as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except DecisionError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(AttestationSerializer(decided).data)


def _form_for(task: A, data: dict) -> DecisionForm:
    """The same validation as the page: the API posts what the form would."""
    shown = Shown(task.snapshot)
    initial = DecisionForm(shown=shown).initial
    needed = data.get("still_needed")
    posted = {
        "decision": data["decision"], "comment": data.get("comment", ""),
        "still_needed": "" if needed is None else ("yes" if needed else "no"),
        "maintainer": data.get("maintainer", ""),
        "minimum_permissions": data.get("minimum_permissions", ""),
        "purpose": data.get("purpose", initial["purpose"]),
        "zone": data.get("zone", initial["zone"]),
        "expires_on": data.get("expires_on", initial["expires_on"]) or "",
        "new_owner": data.get("new_owner", ""),
    }
    return DecisionForm(posted, shown=shown)
