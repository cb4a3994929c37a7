"""Campaign pages: who sees what, opening one from the form, progress, tasks, triage,
resend, close, and queries that do not grow with the campaign."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Identity
from reviews import mailing
from reviews.models import Attestation, Campaign, Delivery
from tests.factories import IdentityFactory, PersonFactory, TeamFactory
from tests.reviews.conftest import make_campaign

pytestmark = pytest.mark.django_db

ALL = {"admin", "analyst", "auditor", "owner"}
READERS = {"admin", "analyst", "auditor"}
EDITORS = {"admin", "analyst"}


def pages(campaign) -> list[tuple[str, set]]:
    return [
        ("/reviews/", ALL),
        ("/reviews/campaigns/", READERS),
        ("/reviews/campaigns/new/", EDITORS),
        (f"/reviews/campaigns/{campaign.code}/", READERS),
        (f"/reviews/campaigns/{campaign.code}/tasks/", READERS),
        (f"/reviews/campaigns/{campaign.code}/tasks/?status=triage", READERS),
        ("/reviews/remediation/", READERS),
        ("/api/v1/campaigns/", READERS),
        (f"/api/v1/campaigns/{campaign.code}/", READERS),
        (f"/api/v1/campaigns/{campaign.code}/progress/", READERS),
        ("/api/v1/attestations/", ALL),
    ]


@pytest.mark.parametrize("role", sorted(ALL))
def test_it_gives_each_role_exactly_its_review_pages(role, org, campaign, client_for):
    client = client_for(role)
    for url, allowed in pages(campaign):
        status = client.get(url).status_code
        assert status == (200 if role in allowed else 403), f"{role} GET {url}: {status}"


def test_it_refuses_actions_to_auditors(org, campaign, client_for):
    client = client_for("auditor")
    for action in ("resend", "retry", "close"):
        assert client.post(f"/reviews/campaigns/{campaign.code}/{action}/").status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == "open"


def test_it_opens_a_campaign_from_the_form(org, users, client_for, committed):
    client = client_for("analyst")
    form = client.get("/reviews/campaigns/new/?scope=privilege%3Dadmin")
    assert 'value="privilege=admin"' in form.content.decode()
    with committed():
        response = client.post("/reviews/campaigns/new/", {
            "name": "Production admins", "scope": "http://x/identities/?privilege=admin&sort=-name",
            "due_date": (timezone.now() + timedelta(days=10)).date().isoformat(),
            "outcome_rule": "any_confirm", "reminder_days": "3, 1"})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
    assert (campaign.scope, campaign.outcome_rule, campaign.reminder_days) == (
        "privilege=admin", "any_confirm", [3, 1])
    assert campaign.created_by == "analyst@example.test"
    assert len(mail.outbox) == 2


def test_it_explains_a_bad_form(org, client_for):
    response = client_for("analyst").post("/reviews/campaigns/new/", {
        "name": "x", "scope": "colour=red", "due_date": "2001-01-01",
        "outcome_rule": "all_confirm"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unknown register filter: colour" in page and "must be in the future" in page
    assert not Campaign.objects.exists()


def test_it_shows_progress_per_team_and_owner(org, campaign, client_for):
    from nhigov.lib.audit import Actor
    from reviews.decisions import Answer, decide

    decide(Attestation.objects.get(reviewer=org["bob"]), Answer("confirm"), Actor.system("t"))
    page = client_for("auditor").get(campaign.get_absolute_url()).content.decode()
    assert "Payments" in page and "alice@example.test" in page
    assert "20%" in page  # 1 of 5 tasks answered (triage items count too)
    assert "in triage" in page


def test_it_shows_overdue_after_the_deadline(org, campaign, client_for, monkeypatch):
    later = campaign.deadline + timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    page = client_for("analyst").get(campaign.get_absolute_url()).content.decode()
    assert "Overdue" in page and "overdue owner tasks" in page


def test_it_lists_pending_and_triage_tasks(org, campaign, client_for):
    client = client_for("analyst")
    pending = client.get(f"/reviews/campaigns/{campaign.code}/tasks/?status=pending")
    assert pending.content.decode().count("data-task=") == 3
    triage = client.get(f"/reviews/campaigns/{campaign.code}/tasks/?status=triage")
    body = triage.content.decode()
    assert "Triage queue" in body and "svc-orphan" in body and "svc-left-behind" in body
    by_owner = client.get(f"/reviews/campaigns/{campaign.code}/tasks/?owner={org['bob'].code}")
    assert by_owner.content.decode().count("data-task=") == 1


def test_it_resends_to_one_owner_and_closes(org, campaign, client_for):
    mailing.send_due()
    mail.outbox.clear()
    client = client_for("analyst")
    client.post(f"/reviews/campaigns/{campaign.code}/resend/", {"owner": str(org["alice"].code)})
    assert [m.to for m in mail.outbox] == [["alice@example.test"]]  # sent in-process
    response = client.post(f"/reviews/campaigns/{campaign.code}/close/", {"reason": "Over"})
    assert response.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).status == "closed"
    assert Attestation.objects.filter(status="expired").count() == 5
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "expired, not attested" in page and "Resend to pending owners" not in page


def test_it_keeps_queries_flat_as_campaigns_grow(org, client_for):
    client = client_for("analyst")
    small = make_campaign(name="small")

    def counted(url) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    urls = lambda c: [c.get_absolute_url(), f"/reviews/campaigns/{c.code}/tasks/",  # noqa: E731
                      "/reviews/campaigns/"]
    before = [counted(u) for u in urls(small)]
    for _ in range(30):
        team = TeamFactory()
        IdentityFactory(team=team, technical_owner=PersonFactory(team=team),
                        business_owner=PersonFactory(team=team))
    big = make_campaign(name="big")
    for n in range(3):
        make_campaign(name=f"more {n}")
    assert [counted(u) for u in urls(big)] == before


def test_it_retries_failed_emails_from_the_page(org, campaign, client_for):
    Delivery.objects.filter(recipient="bob@example.test").update(
        status="abandoned", attempts=5, last_error="SMTPRecipientsRefused: 550")
    page = client_for("analyst").get(campaign.get_absolute_url()).content.decode()
    assert "Emails that could not be sent" in page and "SMTPRecipientsRefused" in page
    client_for("analyst").post(f"/reviews/campaigns/{campaign.code}/retry/")
    assert Delivery.objects.get(recipient="bob@example.test").status == "sent"


def test_it_lists_and_resolves_remediation(org, users, campaign, client_for):
    from nhigov.lib.audit import Actor
    from reviews.decisions import Answer, decide
    from reviews.models import Remediation
    from reviews.remediation import resolve_gone

    task = Attestation.objects.get(reviewer=org["alice"], identity=org["tech_only"])
    decide(task, Answer("revoke", comment="Gone"), Actor.system("t"))
    decide(Attestation.objects.get(reviewer=org["bob"]),
           Answer("change", comment="Less access"), Actor.system("t"))
    page = client_for("auditor").get("/reviews/remediation/").content.decode()
    assert "svc-ledger-reader" in page and "Change request" in page
    Identity.objects.filter(pk=org["tech_only"].pk).update(status="missing")
    assert resolve_gone() == 1
    change = Remediation.objects.get(kind="change")
    client_for("analyst").post(f"/reviews/remediation/{change.code}/resolve/",
                               {"resolution": "Policy trimmed"})
    assert set(Remediation.objects.values_list("status", flat=True)) == {"resolved"}
