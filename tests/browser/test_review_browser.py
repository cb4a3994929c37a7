"""The owner flow in Chromium: an analyst opens a campaign, the owner follows the link in
the delivered email without signing in, answers, and the analyst sees the progress."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from inventory.models import Identity
from reviews.models import Attestation, Campaign
from tests.factories import IdentityFactory, PersonFactory, TeamFactory
from tests.reviews.helpers import links, text_and_html

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_celery")]


@pytest.fixture(autouse=True)
def _local_rate_limits(settings):
    from tests.reviews.conftest import LOCAL_CACHE

    settings.CACHES = LOCAL_CACHE


@pytest.fixture
def estate(users):
    lead = PersonFactory(email="lena@example.test", name="Lena Lead", team=None)
    team = TeamFactory(name="Payments", slug="payments", lead=lead)
    alice = PersonFactory(email="alice@example.test", name="Alice Ng", team=team)
    bob = PersonFactory(email="bob@example.test", name="Bob Stone", team=team)
    IdentityFactory(name="svc-payments-api", technical_owner=alice, business_owner=bob,
                    team=team, privilege="admin", purpose="Charges cards for checkout",
                    permissions_summary="AdministratorAccess")
    IdentityFactory(name="svc-ledger-reader", technical_owner=alice, team=team,
                    purpose="Reads the ledger for monthly reports", zone="storage")
    IdentityFactory(name="svc-batch-2019", technical_owner=alice, team=team, privilege="write",
                    last_used_at=timezone.now() - timedelta(days=400))
    IdentityFactory(name="svc-nobody", team=team, privilege="admin")
    return {"alice": alice, "bob": bob, "team": team}


def test_it_takes_an_owner_from_the_email_to_a_recorded_decision(
        page, chromium, live_server, login, estate, shots):
    # The analyst opens a campaign over the register through the form.
    login("analyst")
    page.goto("/reviews/campaigns/new/")
    page.fill("#id_name", "Q3 2025 review")
    page.fill("#id_scope", "team=" + str(estate["team"].code))
    page.fill("#id_due_date", (timezone.now() + timedelta(days=14)).date().isoformat())
    page.screenshot(path=f"{shots}/review-campaign-form.png", full_page=True)
    page.click("form.panel button[type=submit]")
    page.wait_for_selector("[data-testid=stats]")
    campaign = Campaign.objects.get()
    assert campaign.task_count == 4 and campaign.triage_count == 1

    # Alice's email, as delivered: one message for her three identities.
    alice_mail = next(m for m in mail.outbox if m.to == ["alice@example.test"])
    found = links(alice_mail)
    _text, html = text_and_html(alice_mail)
    owner = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    tab = owner.new_page()
    tab.set_content(html)
    tab.screenshot(path=f"{shots}/review-email.png", full_page=True)

    # One identity from its own link: GET shows it, the form decides.
    tab.goto(found["svc-payments-api"])
    assert "AdministratorAccess" in tab.locator("[data-testid=facts]").inner_text()
    tab.check("input[name=still_needed][value=yes]")
    tab.fill("#id_maintainer", "Payments platform team")
    tab.check("input[name=decision][value=confirm]")
    tab.screenshot(path=f"{shots}/review-link-task.png", full_page=True)
    tab.click("[data-testid=decision-form] button[type=submit]")
    tab.wait_for_selector("[data-testid=done]")
    tab.screenshot(path=f"{shots}/review-link-done.png", full_page=True)
    assert not [c for c in owner.cookies() if c["name"] == "sessionid"]

    # The all-tasks page: revoke the stale batch account with a comment, leave one for later.
    tab.goto(found["all"])
    batch = Attestation.objects.get(identity__name="svc-batch-2019")
    tab.select_option(f"select[name=decision-{batch.code}]", "revoke")
    tab.fill(f"input[name=comment-{batch.code}]", "Batch job retired in 2024")
    tab.screenshot(path=f"{shots}/review-link-all.png", full_page=True)
    tab.click("[data-testid=all-form] button[type=submit]")
    tab.wait_for_selector("[data-testid=recorded]")
    assert "svc-batch-2019 (revoke)" in tab.locator("[data-testid=recorded]").inner_text()

    # Reusing the first link explains itself rather than deciding again.
    tab.goto(found["svc-payments-api"])
    assert tab.locator("[data-testid=problem]").get_attribute("data-problem") == "used"
    tab.screenshot(path=f"{shots}/review-link-used.png", full_page=True)
    owner.close()

    assert Identity.objects.get(name="svc-batch-2019").deprovision_requested_at is not None
    assert Attestation.objects.get(identity__name="svc-payments-api",
                                   reviewer=estate["alice"]).decision == "confirm"

    # The analyst sees the progress, the triage queue and the remediation item.
    page.goto(campaign.get_absolute_url())
    assert "Payments" in page.locator("[data-testid=by-team]").inner_text()
    page.screenshot(path=f"{shots}/review-campaign-detail.png", full_page=True)
    page.goto(f"/reviews/campaigns/{campaign.code}/tasks/?status=triage")
    assert "svc-nobody" in page.locator("[data-testid=tasks]").inner_text()
    page.screenshot(path=f"{shots}/review-triage.png", full_page=True)
    page.goto("/reviews/campaigns/")
    page.screenshot(path=f"{shots}/review-campaign-list.png", full_page=True)
    page.goto("/reviews/remediation/")
    assert "svc-batch-2019" in page.locator("[data-testid=remediation]").inner_text()
    page.screenshot(path=f"{shots}/review-remediation.png", full_page=True)
