"""POST /api/v1/imports/: analysts and admins import; 201 with counts or 400 with errors."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from inventory.models import Identity, Source
from nhigov.models import AuditEvent

URL = "/api/v1/imports/"
DATA = Path(__file__).resolve().parent.parent / "data"
VALID = b"name,kind,provider\nsvc-a,iam_user,aws\nsvc-b,iam_user,aws\n"


@pytest.fixture
def api_for(users):
    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_login(users[role])
        return client

    return make


def post(client: APIClient, data: bytes, name: str = "ids.csv", **extra):
    return client.post(URL, {"file": SimpleUploadedFile(name, data), "source": "api-feed",
                             **extra}, format="multipart")


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_it_imports_a_file_and_returns_counts(api_for, role):
    response = post(api_for(role), VALID)
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["rows"]) == (2, 0, 0, 2)
    assert body["source"] == "api-feed" and body["status"] == "succeeded"
    assert body["source_code"] == str(Source.objects.get(name="api-feed").code)
    again = post(api_for(role), VALID).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_it_returns_every_row_error_and_imports_nothing(api_for):
    response = post(api_for("analyst"), (DATA / "import_errors.json").read_bytes(), "e.json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Nothing was imported." and body["error_count"] == 7
    kind = next(e for e in body["errors"] if e["field"] == "kind")
    assert (kind["line"], kind["item"]) == (3, 2)
    assert kind["message"].startswith("'robot' is not one of: service_account, iam_user")
    assert not Identity.objects.exists() and not Source.objects.exists()


def test_it_rejects_a_request_without_a_file(api_for):
    response = api_for("analyst").post(URL, {"source": "api-feed"}, format="multipart")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["file"]


def test_it_honours_an_explicit_format(api_for):
    data = b'[{"name": "a", "kind": "iam_user", "provider": "aws"}]'
    assert post(api_for("analyst"), data, "upload.bin", format="json").status_code == 201


@pytest.mark.parametrize("role", ["auditor", "owner"])
def test_it_refuses_read_only_roles(api_for, role):
    assert post(api_for(role), VALID).status_code == 403
    assert not Identity.objects.exists()
    assert not AuditEvent.objects.exclude(action="access.denied").exists()  # refusal only


def test_it_refuses_anonymous_callers(db):
    assert post(APIClient(), VALID).status_code == 401


def test_it_accepts_a_token_and_audits_the_caller(users, api_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token('admin')}")
    assert post(client, VALID).status_code == 201
    assert AuditEvent.objects.get(action="import").actor == users["admin"].email


def test_it_is_documented_in_the_schema(client_for):
    schema = client_for("auditor").get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/imports/"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"201", "400"} <= set(operation["responses"])
