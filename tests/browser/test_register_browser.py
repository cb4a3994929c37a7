"""The register in a real browser: sign in, filter, sort, edit with a reason, bulk assign."""

import pytest

from inventory.models import Identity
from nhigov.models import AuditEvent
from tests.factories import IdentityFactory, PersonFactory, TeamFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def register(users):
    team = TeamFactory(name="ML Platform", slug="ml-platform")
    alice = PersonFactory(email="alice@example.test", name="Alice Ng", team=team)
    IdentityFactory(name="svc-training-writer", technical_owner=alice, team=team,
                    privilege="admin")
    IdentityFactory(name="svc-orphan-reader", privilege="read")
    for n in range(60):
        IdentityFactory(name=f"svc-bulk-{n:02d}")
    return {"team": team, "alice": alice}


def test_it_filters_sorts_and_pages(login, register):
    page = login("analyst")
    page.goto("/identities/")  # analysts land on the dashboard
    assert page.locator("[data-testid=register] tbody tr").count() == 50
    page.click("a[rel=next]")
    page.wait_for_url("**after=**")
    assert page.locator("[data-testid=register] tbody tr").count() == 12
    page.goto("/identities/")
    page.fill("#id_q", "orphan")
    page.press("#id_q", "Enter")
    page.wait_for_url("**q=orphan**")
    rows = page.locator("[data-testid=register] tbody tr")
    assert rows.count() == 1
    assert "No owner" in rows.first.inner_text()
    page.goto("/identities/?sort=privilege")  # admin sorts first
    first_row = page.locator("[data-testid=register] tbody tr").first
    assert "svc-training-writer" in first_row.inner_text()


def test_it_edits_an_identity_with_a_reason(login, register, shots):
    page = login("analyst")
    identity = Identity.objects.get(name="svc-orphan-reader")
    page.goto(f"/identities/{identity.code}/edit/")
    page.fill("#id_technical_owner", "alice@example.test")
    page.fill("#id_purpose", "Reads feature tables for nightly training")
    page.click("form.panel button[type=submit]")
    assert "required" in page.locator("#id_reason_error").inner_text()
    assert Identity.objects.get(pk=identity.pk).technical_owner is None
    page.fill("#id_reason", "Confirmed with Alice in CHG-1234")
    page.click("form.panel button[type=submit]")
    page.wait_for_url(f"**/identities/{identity.code}/")
    history = page.locator("[data-testid=history]").inner_text()
    assert "Confirmed with Alice in CHG-1234" in history
    assert "alice@example.test" in history
    identity.refresh_from_db()
    assert identity.technical_owner == register["alice"]
    page.screenshot(path=f"{shots}/identity-detail.png", full_page=True)


def test_it_bulk_assigns_a_team_to_selected_rows(login, register, shots):
    page = login("analyst")
    page.goto("/identities/?q=svc-bulk-0")
    boxes = page.locator("input[name=selected]")
    assert boxes.count() == 10
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.select_option("select[name=field]", "team")
    page.fill("input[name=value]", "ML Platform")
    page.fill("input[name=reason]", "Team took over the bulk jobs")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bulk-form button[type=submit]")
    page.wait_for_selector(".msg-success")
    assert "on 2 identities" in page.locator(".msg-success").inner_text()
    assert Identity.objects.filter(team=register["team"], name__startswith="svc-bulk").count() == 2
    assert AuditEvent.objects.filter(action="identity.bulk_update").count() == 2
    page.screenshot(path=f"{shots}/register.png", full_page=True)
