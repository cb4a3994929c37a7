"""POST /api/v1/imports/: the import page's upload as an API call (logic in importer)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.importer import RowError, import_file, read_limited
from nhigov.lib.api_permissions import RolePermission
from nhigov.lib.audit import Actor

# A rejected file may have an error on every row; the response lists this many.
ERRORS_RETURNED = 1000


class ImportUploadSerializer(serializers.Serializer):
    """The multipart upload."""

    file = serializers.FileField(help_text="CSV with a header row, or JSON (an array of "
                                           'objects, or {"identities": [...]}).')
    source = serializers.CharField(max_length=100, help_text="File source to import into; "
                                                             "created if new.")
    format = serializers.ChoiceField(["csv", "json"], required=False,
                                     help_text="Default: from the file name, else the content.")


class ImportSummarySerializer(serializers.Serializer):
    """Counts of a successful import."""

    file_name = serializers.CharField()
    sha256 = serializers.CharField(help_text="SHA-256 of the uploaded file.")
    format = serializers.ChoiceField(["csv", "json"])
    rows = serializers.IntegerField()
    source = serializers.CharField()
    source_code = serializers.UUIDField()
    run = serializers.UUIDField(help_text="Code of the sync run that wrote the rows.")
    status = serializers.CharField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    people_created = serializers.ListField(child=serializers.EmailField())


class ImportRowErrorSerializer(serializers.Serializer):
    """One problem: the CSV line (header = 1) or the JSON item and the line it starts on."""

    line = serializers.IntegerField(allow_null=True)
    item = serializers.IntegerField(allow_null=True)
    field = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class ImportRejectedSerializer(serializers.Serializer):
    """Why nothing was imported."""

    detail = serializers.CharField()
    error_count = serializers.IntegerField()
    errors = ImportRowErrorSerializer(many=True)


def _rejected(errors: list[RowError]) -> Response:
    return Response({
        "detail": "Nothing was imported.",
        "error_count": len(errors),
        "errors": [e.as_dict() for e in errors[:ERRORS_RETURNED]],
    }, status=status.HTTP_400_BAD_REQUEST)


class ImportAPIView(APIView):
    """Validate a whole file, then import it into a file source, or import nothing."""

    permission_classes = [RolePermission]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="imports_create",
        summary="Import identities from a CSV or JSON file",
        description=(
            "Every row is validated first; with any error nothing is written and every "
            "error is returned with its line. A valid file is written through the same "
            "sync as discovery (never marking anything missing); importing the same file "
            "again changes nothing. Owners, team, purpose and zone only fill empty fields. "
            "Analysts and admins only."),
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportSummarySerializer, 400: ImportRejectedSerializer},
        examples=[OpenApiExample("Rejected", response_only=True, status_codes=["400"], value={
            "detail": "Nothing was imported.", "error_count": 1, "errors": [
                {"line": 3, "item": None, "field": "kind",
                 "message": "'robot' is not one of: service_account, iam_user, ..."}]})],
        tags=["imports"],
    )
    def post(self, request: Request) -> Response:
        upload = ImportUploadSerializer(data=request.data)
        if not upload.is_valid():
            return _rejected([RowError(None, name, " ".join(str(m) for m in messages))
                              for name, messages in upload.errors.items()])
        data = upload.validated_data
        result = import_file(read_limited(data["file"]), file_name=data["file"].name,
                             source_name=data["source"], actor=Actor.for_request(request),
                             fmt=data.get("format"))
        if not result.ok:
            return _rejected(result.errors)
        return Response(result.summary(), status=status.HTTP_201_CREATED)
