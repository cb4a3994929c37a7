"""Evidence pack from the page, the API and the management command: who may, what comes
back (a streamed ZIP), how bad input is refused, and that each export is audited."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse
from rest_framework.test import APIClient

from nhigov.evidence.builder import ACTION
from nhigov.evidence.forms import last_quarter
from nhigov.models import AuditEvent
from tests.factories import IdentityFactory

PAGE, API = "/evidence/", "/api/v1/evidence-packs/"
BODY = {"framework": "soc2", "start": "2026-07-01", "end": "2026-09-30"}


def unzip(response) -> zipfile.ZipFile:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


@pytest.mark.parametrize("role", ["admin", "analyst", "auditor"])
def test_it_shows_the_form_to_roles_that_see_everything(client_for, role):
    response = client_for(role).get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="framework"' in html and "PCI DSS 4.0.1" in html and "CC6.1" in html
    assert "<script>" not in html and " onclick=" not in html


def test_it_refuses_owners_and_anonymous_visitors(client_for, client, db):
    assert client_for("owner").get(PAGE).status_code == 403
    assert client_for("owner").post(PAGE, BODY).status_code == 403
    assert client.get(PAGE).status_code == 302


def test_it_streams_the_pack_from_the_page_and_lists_the_export(client_for):
    IdentityFactory(name="svc-one")
    auditor = client_for("auditor")

    response = auditor.post(PAGE, BODY)

    archive = unzip(response)
    assert "nhigov-evidence-soc2-20260701-20260930.zip" in response["Content-Disposition"]
    assert "manifest.json" in archive.namelist()
    event = AuditEvent.objects.get(action=ACTION)
    assert event.actor == "auditor@example.test" and event.after["framework"] == "soc2"
    assert "SOC 2" in auditor.get(PAGE).content.decode().split("Recent exports")[1]


def test_it_shows_form_errors_for_a_backwards_period(client_for):
    response = client_for("analyst").post(PAGE, {**BODY, "end": "2026-06-30"})

    assert response.status_code == 200
    assert "The period ends before it starts." in response.content.decode()
    assert not AuditEvent.objects.filter(action=ACTION).exists()


def test_it_defaults_to_the_last_full_quarter():
    from datetime import date

    period = last_quarter(date(2026, 11, 25))
    assert (period.start, period.end) == (date(2026, 7, 1), date(2026, 9, 30))
    period = last_quarter(date(2026, 2, 3))
    assert (period.start, period.end) == (date(2025, 10, 1), date(2025, 12, 31))


def _api(users, role: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(users[role])
    return client


def test_it_streams_the_pack_from_the_api_by_get_and_post(users):
    auditor = _api(users, "auditor")

    by_get = unzip(auditor.get(API, {**BODY, "framework": "nist_csf"},
                               HTTP_ACCEPT="application/zip"))
    by_post = unzip(auditor.post(API, {**BODY, "reason": "Q3 audit"}, format="json"))

    assert json.loads(by_get.read("manifest.json"))["framework"]["key"] == "nist_csf"
    assert json.loads(by_post.read("manifest.json"))["framework"]["key"] == "soc2"
    reasons = set(AuditEvent.objects.filter(action=ACTION).values_list("reason", flat=True))
    assert reasons == {"Evidence pack export", "Q3 audit"}


def test_it_refuses_owners_and_bad_input_on_the_api(users):
    assert _api(users, "owner").post(API, BODY, format="json").status_code == 403
    assert APIClient().get(API, BODY).status_code in (401, 403)
    analyst = _api(users, "analyst")
    assert analyst.get(API, {**BODY, "framework": "hipaa"}).status_code == 400
    response = analyst.post(API, {**BODY, "start": "2026-10-01"}, format="json")
    assert response.status_code == 400 and "end" in response.json()


def test_it_documents_the_endpoint_in_the_schema(client_for):
    schema = client_for("auditor").get("/api/v1/schema/", {"format": "json"}).json()

    path = schema["paths"]["/api/v1/evidence-packs/"]
    assert {"get", "post"} <= set(path)
    assert "application/zip" in path["post"]["responses"]["200"]["content"]
    assert {p["name"] for p in path["get"]["parameters"]} >= {"framework", "start", "end"}


def test_it_writes_the_pack_from_the_command(db, tmp_path):
    IdentityFactory()
    target = tmp_path / "pack.zip"
    out = io.StringIO()

    call_command("evidence_pack", "--framework", "iso27001", "--start", "2026-07-01",
                 "--end", "2026-09-30", "--output", str(target), stdout=out)

    archive = zipfile.ZipFile(target)
    assert json.loads(archive.read("manifest.json"))["framework"]["key"] == "iso27001"
    assert "Wrote" in out.getvalue()
    assert AuditEvent.objects.get(action=ACTION).actor == "manage.py evidence_pack"


def test_it_refuses_a_backwards_period_in_the_command(db, tmp_path):
    with pytest.raises(CommandError, match="ends before"):
        call_command("evidence_pack", "--framework", "soc2", "--start", "2026-07-01",
                     "--end", "2026-06-01", "--output", str(tmp_path / "x.zip"))


def test_it_reads_the_pack_in_one_snapshot_outside_a_transaction(transactional_db, tmp_path):
    # No surrounding test transaction here: on PostgreSQL the pack is read in its own
    # REPEATABLE READ, READ ONLY transaction and the audit event is written after it.
    IdentityFactory(name="svc-snapshot")
    target = tmp_path / "pack.zip"

    call_command("evidence_pack", "--framework", "soc2", "--start", "2026-07-01",
                 "--end", "2026-09-30", "--output", str(target), stdout=io.StringIO())

    archive = zipfile.ZipFile(target)
    assert "svc-snapshot" in archive.read("inventory.csv").decode()
    event = AuditEvent.objects.get(action=ACTION)
    assert event.after["chain_ok"] is True and "completed" not in event.after


def test_it_refuses_a_period_ending_on_the_last_representable_day(users, client_for):
    # Period.end_at is the next day's start: 9999-12-31 has none (was a 500 mid-stream).
    body = {**BODY, "start": "9999-12-01", "end": "9999-12-31"}
    response = _api(users, "analyst").get(API, body)
    assert response.status_code == 400 and "end" in response.json()
    assert client_for("analyst").post(PAGE, body).status_code == 200
    assert not AuditEvent.objects.filter(action=ACTION).exists()
