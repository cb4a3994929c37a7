"""API: campaigns (readers read, editors open/resend/close) and attestations (scoped per
role; the reviewer answers through POST .../decide/ with the page's validation)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from inventory.models import Identity
from ownership.models import Person
from reviews.models import Attestation, Campaign, Delivery

pytestmark = pytest.mark.django_db

READERS = ["admin", "analyst", "auditor"]


def sign_in_as_alice(org, users) -> None:
    """The owner role's login becomes Alice's (it belonged to Olive Owner)."""
    Person.objects.filter(user=users["owner"]).update(user=None)
    org["alice"].user = users["owner"]
    org["alice"].save()


def due(days=14) -> str:
    return (timezone.now() + timedelta(days=days)).date().isoformat()


@pytest.mark.parametrize("role", ["admin", "analyst", "auditor", "owner"])
def test_it_lists_campaigns_for_readers_only(role, org, campaign, client_for):
    response = client_for(role).get("/api/v1/campaigns/")
    if role == "owner":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["code"] == str(campaign.code)
    assert (row["task_count"], row["triage_count"], row["identity_count"]) == (3, 2, 4)


def test_it_opens_a_campaign_for_an_analyst(org, users, client_for, committed):
    with committed():
        response = client_for("analyst").post("/api/v1/campaigns/", {
            "name": "Admins in production", "scope": "privilege=admin", "due_date": due(),
            "reminder_days": [5, 1]}, content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["task_count"] == 2 and body["reminder_days"] == [5, 1]
    assert body["created_by"] == "analyst@example.test"
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.test", "bob@example.test"]


@pytest.mark.parametrize("body,field", [
    ({"name": "x", "scope": "colour=red", "due_date": due()}, "scope"),
    ({"name": "x", "due_date": "2000-01-01"}, "due_date"),
])
def test_it_refuses_a_bad_campaign(org, client_for, body, field):
    response = client_for("analyst").post("/api/v1/campaigns/", body,
                                          content_type="application/json")
    assert response.status_code == 400 and field in response.json()
    assert not Campaign.objects.exists()


def test_it_refuses_writes_to_auditors(org, campaign, client_for):
    client = client_for("auditor")
    assert client.post("/api/v1/campaigns/", {"name": "x", "due_date": due()},
                       content_type="application/json").status_code == 403
    assert client.post(f"/api/v1/campaigns/{campaign.code}/close/").status_code == 403


def test_it_reports_progress_resends_and_closes(org, campaign, client_for):
    client = client_for("analyst")
    progress = client.get(f"/api/v1/campaigns/{campaign.code}/progress/").json()
    assert progress["totals"]["pending"] == 3 and progress["totals"]["triage"] == 2
    assert progress["teams"][0]["team_name"] == "Payments"
    assert {o["owner_email"] for o in progress["owners"]} == {"alice@example.test",
                                                              "bob@example.test"}
    resent = client.post(f"/api/v1/campaigns/{campaign.code}/resend/",
                         {"owner": str(org["bob"].code)}, content_type="application/json")
    assert resent.status_code == 202 and resent.json() == {"queued": 1}
    assert Delivery.objects.filter(kind="resend", recipient="bob@example.test").count() == 1
    closed = client.post(f"/api/v1/campaigns/{campaign.code}/close/", {"reason": "Done"},
                         content_type="application/json")
    assert closed.json() == {"expired": 5}
    assert client.post(f"/api/v1/campaigns/{campaign.code}/resend/").status_code == 400


def test_it_scopes_attestations_to_the_owner(org, users, campaign, client_for):
    sign_in_as_alice(org, users)
    mine = client_for("owner").get("/api/v1/attestations/").json()["results"]
    assert {r["snapshot"]["name"] for r in mine} == {"svc-payments-api", "svc-ledger-reader"}
    everyone = client_for("auditor").get(
        f"/api/v1/attestations/?campaign={campaign.code}&status=triage").json()["results"]
    assert {r["snapshot"]["name"] for r in everyone} == {"svc-orphan", "svc-left-behind"}
    bobs = Attestation.objects.get(reviewer=org["bob"])
    assert client_for("owner").get(f"/api/v1/attestations/{bobs.code}/").status_code == 404


def test_it_lets_the_reviewer_decide_through_the_api(org, users, campaign, client_for):
    sign_in_as_alice(org, users)
    task = Attestation.objects.get(reviewer=org["alice"], identity=org["tech_only"])
    url = f"/api/v1/attestations/{task.code}/decide/"
    client = client_for("owner")
    bad = client.post(url, {"decision": "revoke"}, content_type="application/json")
    assert bad.status_code == 400 and "comment" in bad.json()
    ok = client.post(url, {"decision": "confirm", "zone": "storage", "still_needed": True},
                     content_type="application/json")
    assert ok.status_code == 200, ok.json()
    assert ok.json()["decision"] == "confirm"
    identity = Identity.objects.get(pk=org["tech_only"].pk)
    assert identity.zone == "storage" and identity.last_attested_at is not None
    again = client.post(url, {"decision": "confirm"}, content_type="application/json")
    assert again.status_code == 409


def test_it_refuses_a_decision_by_someone_else(org, users, campaign, client_for):
    task = Attestation.objects.get(reviewer=org["bob"])
    response = client_for("analyst").post(f"/api/v1/attestations/{task.code}/decide/",
                                          {"decision": "confirm"},
                                          content_type="application/json")
    assert response.status_code == 403
    assert Attestation.objects.get(pk=task.pk).status == "pending"


def test_it_lets_an_analyst_assign_an_owner_to_a_triage_item(org, users, campaign, client_for):
    item = Attestation.objects.get(identity=org["orphan"])
    response = client_for("analyst").post(
        f"/api/v1/attestations/{item.code}/decide/",
        {"decision": "reassign", "new_owner": "carol@example.test", "comment": "Carol's team"},
        content_type="application/json")
    assert response.status_code == 200, response.json()
    assert Identity.objects.get(pk=org["orphan"].pk).technical_owner == org["carol"]
    new = Attestation.objects.get(reviewer=org["carol"])
    assert (new.role, new.status, new.reassigned_from_id) == ("technical", "pending", item.pk)


def test_it_documents_the_review_endpoints_without_warnings(db, tmp_path):
    import yaml
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    assert {"/api/v1/campaigns/", "/api/v1/campaigns/{code}/progress/",
            "/api/v1/campaigns/{code}/close/", "/api/v1/campaigns/{code}/resend/",
            "/api/v1/attestations/", "/api/v1/attestations/{code}/decide/"} <= set(paths)
    assert "post" in paths["/api/v1/campaigns/"] and "delete" not in paths[
        "/api/v1/campaigns/{code}/"]
