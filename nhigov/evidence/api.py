"""/api/v1/evidence-packs/: the evidence pack as a streamed ZIP, by GET (query parameters)
or POST (JSON body). Auditors, analysts and admins; owners are refused."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from nhigov.evidence.builder import EvidencePack
from nhigov.evidence.files import Period
from nhigov.evidence.forms import period_problem
from nhigov.evidence.frameworks import CHOICES
from nhigov.evidence.views import pack_response
from nhigov.lib.audit import Actor
from nhigov.lib.roles import sees_everything


class EvidencePermission(BasePermission):
    """Building a pack changes nothing, so auditors may POST too; owners never."""

    def has_permission(self, request, view) -> bool:
        return sees_everything(request.user)


class ZipRenderer(BaseRenderer):
    """Lets a client send "Accept: application/zip" (DRF would answer 406 otherwise);
    errors still go out as JSON text."""

    media_type = "application/zip"
    format = "zip"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return JSONRenderer().render(data)


class PackRequestSerializer(serializers.Serializer):
    """What the pack covers."""

    framework = serializers.ChoiceField(CHOICES)
    start = serializers.DateField(help_text="First day of the period (UTC).")
    end = serializers.DateField(help_text="Last day of the period, included.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500,
                                   help_text="Why the pack is exported; kept in the audit log.")

    def validate(self, attrs: dict) -> dict:
        problem = period_problem(attrs["start"], attrs["end"])
        if problem:
            raise serializers.ValidationError({"end": problem})
        return attrs


_ZIP = OpenApiResponse(OpenApiTypes.BINARY, description=(
    "ZIP (application/zip) streamed as it is built: data CSVs, audit_verification.json, "
    "control_mapping.csv, summary.html, summary.pdf and manifest.json with the SHA-256 and "
    "size of every file."))
_DOC = dict(
    responses={(200, "application/zip"): _ZIP, 400: OpenApiResponse(
        description="Invalid framework or period.")},
    tags=["evidence"],
)


class EvidencePackAPIView(APIView):
    permission_classes = [EvidencePermission]
    renderer_classes = [JSONRenderer, ZipRenderer]

    @extend_schema(
        operation_id="evidence_packs_retrieve", summary="Download an evidence pack",
        parameters=[
            OpenApiParameter("framework", str, enum=[k for k, _ in CHOICES], required=True),
            OpenApiParameter("start", OpenApiTypes.DATE, required=True),
            OpenApiParameter("end", OpenApiTypes.DATE, required=True),
            OpenApiParameter("reason", str)],
        **_DOC)
    def get(self, request: Request):
        return self._pack(request, request.query_params)

    @extend_schema(operation_id="evidence_packs_create", summary="Build an evidence pack",
                   request=PackRequestSerializer, **_DOC)
    def post(self, request: Request):
        return self._pack(request, request.data)

    def _pack(self, request: Request, data):
        serializer = PackRequestSerializer(data=data)
        if not serializer.is_valid():
            return Response(serializer.errors, status=400)
        d = serializer.validated_data
        pack = EvidencePack.create(d["framework"], Period(d["start"], d["end"]),
                                   Actor.for_request(request), reason=d.get("reason", ""))
        return pack_response(pack)
