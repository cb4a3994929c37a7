"""API: the OpenAPI schema validates without warnings and, like the docs page, needs a role."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient


def test_it_generates_a_valid_schema_without_warnings(db, tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/identities/", "/api/v1/identities/{code}/", "/api/v1/credentials/",
            "/api/v1/people/", "/api/v1/teams/", "/api/v1/sources/",
            "/api/v1/sync-runs/"} <= set(schema["paths"])


@pytest.fixture
def schema(client_for) -> dict:
    response = client_for("auditor").get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_it_documents_the_identity_contract(schema):
    identity = schema["paths"]["/api/v1/identities/{code}/"]
    assert {"get", "patch"} <= set(identity)
    assert "put" not in identity and "delete" not in identity
    assert "post" not in schema["paths"]["/api/v1/identities/"]
    body = schema["components"]["schemas"]["IdentityUpdateRequest"]
    assert body["required"] == ["reason"]
    params = {p["name"] for p in schema["paths"]["/api/v1/identities/"]["get"]["parameters"]}
    assert {"q", "kind", "zone", "owner", "has_owner", "ordering", "cursor"} <= params
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_it_never_exposes_internal_or_secret_fields(schema):
    text = str(schema["components"]["schemas"])
    assert "data_hash" not in text
    for name in ("Identity", "IdentityDetail", "Credential"):
        assert "id" not in schema["components"]["schemas"][name]["properties"]


@pytest.mark.parametrize("url", ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/"])
def test_it_refuses_anonymous_visitors(db, url):
    assert APIClient().get(url).status_code in (401, 403)


def test_it_serves_the_docs_page_from_local_static_files(client_for):
    response = client_for("owner").get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html
    # The init script (with the schema's URL) is served apart from the page, for the CSP.
    script = client_for("owner").get("/api/v1/docs/?script=").content.decode()
    assert "/api/v1/schema/" in script
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
