"""The risk API: findings (scoped, filtered, decided), rules, policy versions, snapshots."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import PolicyVersion
from inventory.risk import policy as policies
from inventory.risk.engine import evaluate_all
from inventory.risk.snapshots import take_snapshot
from tests.risk.cases import clean_identity
from tests.risk.helpers import finding

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_token):
    def make(role: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token(role)}")
        return client

    return make


@pytest.fixture
def found(users, owner_person):
    mine = clean_identity(purpose="", technical_owner=owner_person)
    other = clean_identity(privilege="admin")
    evaluate_all("test")
    return {"mine": mine, "other": other}


def test_it_lists_and_filters_findings(api, found):
    client = api("analyst")
    rows = client.get("/api/v1/findings/").json()["results"]
    assert {r["rule"] for r in rows} >= {"ownership.no_purpose", "privilege.admin"}
    high = client.get("/api/v1/findings/?severity=high").json()["results"]
    assert {r["rule"] for r in high} == {"privilege.admin", "zones.cross_zone"}
    row = client.get(f"/api/v1/findings/?identity={found['mine'].code}").json()["results"][0]
    assert row["title"] == "No purpose recorded" and row["owasp"] == "NHI1"
    assert row["identity"] == str(found["mine"].code)


def test_owners_see_their_own_findings_only(api, found):
    rows = api("owner").get("/api/v1/findings/").json()["results"]
    assert {r["identity"] for r in rows} == {str(found["mine"].code)}


def test_an_analyst_accepts_and_resolves_through_the_api(api, users, found):
    target = finding(found["other"], "privilege.admin")
    until = (timezone.localdate() + dt.timedelta(days=20)).isoformat()
    client = api("analyst")
    response = client.post(f"/api/v1/findings/{target.code}/accept/",
                           {"until": until, "reason": "Migration to scoped role in Q3"},
                           format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    assert response.json()["accepted_by"] == users["analyst"].email
    bad = client.post(f"/api/v1/findings/{target.code}/accept/",
                      {"until": "2001-01-01", "reason": "x"}, format="json")
    assert bad.status_code == 400
    reopened = client.post(f"/api/v1/findings/{target.code}/reopen/",
                           {"reason": "Migration slipped"}, format="json")
    assert (reopened.json()["status"], reopened.json()["reopen_count"]) == ("open", 1)
    response = client.post(f"/api/v1/findings/{target.code}/resolve/", {"why": "Scoped now"},
                           format="json")
    assert response.json()["status"] == "resolved"
    again = client.post(f"/api/v1/findings/{target.code}/resolve/", {"why": "again"},
                        format="json")
    assert again.status_code == 409


def test_auditors_and_owners_cannot_decide(api, found):
    target = finding(found["mine"], "ownership.no_purpose")
    for role in ("auditor", "owner"):
        response = api(role).post(f"/api/v1/findings/{target.code}/resolve/", {"why": "x"},
                                  format="json")
        assert response.status_code == 403


def test_rules_policy_versions_and_snapshots(api, found):
    rules = api("owner").get("/api/v1/risk-rules/").json()
    assert len(rules) == 31 and {"code", "owasp", "frameworks"} <= set(rules[0])
    versions = api("auditor").get("/api/v1/policy-versions/").json()["results"]
    assert [v["number"] for v in versions] == [1]
    text = policies.default_document().replace("  review_days: 91 ", "  review_days: 180 ")
    assert api("analyst").post("/api/v1/policy-versions/", {"document": text, "reason": "x"},
                               format="json").status_code == 403
    bad = api("admin").post("/api/v1/policy-versions/",
                            {"document": "defaults: []", "reason": "x"}, format="json")
    assert bad.status_code == 400 and "line 1" in bad.json()["document"][0]
    made = api("admin").post("/api/v1/policy-versions/",
                             {"document": text, "reason": "Semi-annual reviews"}, format="json")
    assert made.status_code == 201, made.content
    assert PolicyVersion.objects.order_by("-number").first().reason == "Semi-annual reviews"
    take_snapshot()
    snapshots = api("auditor").get("/api/v1/risk-snapshots/").json()["results"]
    assert snapshots[0]["metrics"]["headline"]["total"] == 2
    assert api("owner").get("/api/v1/risk-snapshots/").status_code == 403
