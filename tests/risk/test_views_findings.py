"""The findings page and the analyst's decisions: accept with an expiry and a reason
(approver = the analyst), resolve, reopen; roles; the identity page's risk panel."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Finding, IdentityRisk
from inventory.risk.engine import evaluate_all
from nhigov.models import AuditEvent
from tests.risk.cases import clean_identity, update
from tests.risk.helpers import finding

pytestmark = pytest.mark.django_db


@pytest.fixture
def found(users):
    identity = clean_identity(purpose="", privilege="admin", name="svc-ledger-admin")
    evaluate_all("test")
    return identity


def future(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def test_it_lists_open_findings_most_severe_first(client_for, found):
    response = client_for("analyst").get("/findings/")
    assert response.status_code == 200
    rows = [f.rule for f, _ in response.context["rows"]]
    assert set(rows[:2]) == {"privilege.admin", "zones.cross_zone"}  # high
    assert rows[-1] == "ownership.no_purpose"  # medium after high
    assert "svc-ledger-admin" in response.content.decode()


def test_it_filters_by_severity_rule_owasp_and_identity(client_for, found):
    client = client_for("auditor")
    medium = client.get("/findings/?severity=medium").context["rows"]
    assert [f.rule for f, _ in medium] == ["ownership.no_purpose"]
    nhi5 = client.get("/findings/?owasp=NHI5").context["rows"]
    assert {f.rule for f, _ in nhi5} == {"privilege.admin", "zones.cross_zone"}
    other = clean_identity(purpose="")
    evaluate_all("test")
    mine = client.get(f"/findings/?identity={other.code}").context["rows"]
    assert [f.identity_id for f, _ in mine] == [other.pk]


def test_owners_see_only_findings_of_their_identities(client_for, found, owner_person):
    owned = clean_identity(purpose="", technical_owner=owner_person)
    evaluate_all("test")
    rows = client_for("owner").get("/findings/").context["rows"]
    assert {f.identity_id for f, _ in rows} == {owned.pk}


def test_the_list_costs_the_same_queries_for_more_findings(client_for, found):
    client = client_for("analyst")
    client.get("/findings/")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            client.get("/findings/")
        return len(ctx.captured_queries)

    before = count()
    for n in range(15):
        clean_identity(purpose="", name=f"more-{n}")
    evaluate_all("test")
    assert count() == before


def test_an_analyst_accepts_a_risk_until_a_date_with_a_reason(client_for, users, found):
    target = finding(found, "ownership.no_purpose")
    response = client_for("analyst").post(f"/findings/{target.code}/accept/", {
        "until": future(30), "reason": "Purpose confirmed verbally, ticket OPS-7",
        "next": f"/identities/{found.code}/"})
    assert response.status_code == 302 and response["Location"] == f"/identities/{found.code}/"
    target.refresh_from_db()
    assert target.status == "accepted"
    assert target.accepted_by == users["analyst"]
    assert target.accepted_until.isoformat() == future(30)
    event = AuditEvent.objects.get(action="finding.accept")
    assert (event.object_type, event.object_id) == ("identity", str(found.code))
    assert event.reason == "Purpose confirmed verbally, ticket OPS-7"
    assert event.after["rule"] == "ownership.no_purpose"
    # The acceptance holds across evaluations until it expires.
    evaluate_all("test")
    assert finding(found, "ownership.no_purpose").status == "accepted"


@pytest.mark.parametrize(("until", "reason", "error"), [
    (future(0), "x", "after today"), (future(400), "x", "At most 365"), (future(5), "", "required"),
])
def test_it_refuses_a_bad_acceptance(client_for, found, until, reason, error):
    target = finding(found, "ownership.no_purpose")
    response = client_for("analyst").post(f"/findings/{target.code}/accept/",
                                          {"until": until, "reason": reason}, follow=True)
    assert error in response.content.decode()
    assert finding(found, "ownership.no_purpose").status == "open"


def test_resolving_by_hand_is_checked_again_at_the_next_evaluation(client_for, found):
    target = finding(found, "ownership.no_purpose")
    client_for("analyst").post(f"/findings/{target.code}/resolve/",
                               {"why": "Purpose added in the CMDB"})
    target.refresh_from_db()
    assert target.status == "resolved" and target.resolved_why == "Purpose added in the CMDB"
    evaluate_all("test")  # the register still has no purpose: it comes back
    again = finding(found, "ownership.no_purpose")
    assert (again.status, again.reopen_count) == ("open", 1)
    client_for("analyst").post(f"/findings/{target.code}/resolve/", {"why": "Really fixed"})
    update(found, purpose="Ledger exports")
    evaluate_all("test")
    assert finding(found, "ownership.no_purpose").status == "resolved"
    assert IdentityRisk.objects.get(identity=found).classification == "high_risk"


def test_an_acceptance_can_be_withdrawn(client_for, found):
    target = finding(found, "privilege.admin")
    client = client_for("analyst")
    client.post(f"/findings/{target.code}/accept/", {"until": future(10), "reason": "ok"})
    client.post(f"/findings/{target.code}/reopen/", {"reason": "Vendor never fixed it"})
    target.refresh_from_db()
    assert (target.status, target.reopen_count) == ("open", 1)


@pytest.mark.parametrize("role", ["auditor", "owner"])
def test_only_analysts_and_admins_decide(client_for, found, role):
    target = finding(found, "ownership.no_purpose")
    response = client_for(role).post(f"/findings/{target.code}/accept/",
                                     {"until": future(5), "reason": "x"})
    assert response.status_code == 403
    assert Finding.objects.get(pk=target.pk).status == "open"


def test_the_identity_page_shows_its_findings_and_verdict(client_for, found):
    page = client_for("analyst").get(f"/identities/{found.code}/").content.decode()
    assert 'data-testid="identity-findings"' in page
    assert "Admin privilege" in page and "No purpose recorded" in page
    assert "High-risk" in page
    assert f'action="/findings/{finding(found, "privilege.admin").code}/accept/"' in page
    auditor_page = client_for("auditor").get(f"/identities/{found.code}/").content.decode()
    assert "/accept/" not in auditor_page  # no triage controls for auditors


def test_the_rules_page_lists_every_rule_with_owasp_and_frameworks(client_for):
    page = client_for("owner").get("/risk/rules/").content.decode()
    assert "leak.scanner_match" in page and "NHI2" in page and "PCI DSS 4.0.1 8.6.2" in page


def test_evaluate_now_is_for_editors(client_for, found):
    assert client_for("auditor").post("/findings/evaluate/").status_code == 403
    response = client_for("analyst").post("/findings/evaluate/", follow=True)
    assert "Evaluated" in response.content.decode()
