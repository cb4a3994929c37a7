"""The audit log and an identity's timeline in a real browser: filter, page, follow links."""

import pytest
from django.utils import timezone

from inventory.models import Finding
from nhigov.lib.audit import Actor, Change, make_checkpoint, record, record_many
from nhigov.models import AuditEvent
from tests.factories import IdentityFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history(users, owner_person):
    identity = IdentityFactory(name="svc-ledger-writer", technical_owner=owner_person,
                               purpose="")
    analyst = Actor(AuditEvent.ActorType.USER, "analyst@example.test", users["analyst"].pk,
                    "req-ledger-0001")
    record(analyst, Change("identity.update", "identity", identity.code, identity.name,
                           {"zone": "compute", "purpose": ""},
                           {"zone": "storage", "purpose": "Writes the ledger"}),
           reason="Ticket OPS-1942: moved to the storage zone")
    record_many(Actor.system("sync:demo"), [
        Change("identity.missing", "identity", f"00000000-0000-0000-0000-{n:012d}",
               f"svc-gone-{n:02d}", {"status": "active"}, {"status": "missing"})
        for n in range(60)], reason="not seen in a completed run")
    make_checkpoint()
    now = timezone.now()
    # Saving the identity may have evaluated it already (RISK_EVALUATE_ON_SAVE).
    Finding.objects.get_or_create(identity=identity, rule="ownership.no_purpose", defaults={
        "severity": "medium", "first_detected_at": now, "last_detected_at": now,
        "opened_at": now})
    return identity


def test_an_auditor_filters_pages_and_opens_a_timeline(login, history, shots):
    page = login("auditor")
    page.click("nav >> text=Audit log")
    page.wait_for_url("**/audit/")
    assert "Verified" in page.locator("[data-testid=chain-status]").inner_text()
    assert "Last signed checkpoint" in page.locator("[data-testid=last-checkpoint]").inner_text()
    rows = page.locator("[data-testid=audit-events] tbody tr")
    assert rows.count() == 50
    page.click("a[rel=next]")
    page.wait_for_url("**after=**")
    # 61 seeded, plus the sign-in and whatever saving the identity recorded.
    assert rows.count() == AuditEvent.objects.count() - 50 > 10
    page.goto("/audit/")
    page.fill("#id_q", "OPS-1942")
    page.press("#id_q", "Enter")
    page.wait_for_url("**q=OPS-1942**")
    assert rows.count() == 1
    page.screenshot(path=f"{shots}/audit-log.png", full_page=True)
    page.click("[data-testid=audit-events] >> text=svc-ledger-writer")
    page.wait_for_url(f"**/identities/{history.code}/timeline/")
    timeline = page.locator("[data-testid=timeline]").inner_text()
    assert "identity.update" in timeline and "finding opened" in timeline
    page.screenshot(path=f"{shots}/identity-timeline.png", full_page=True)


def test_an_owner_reaches_the_timeline_but_not_the_log(login, history):
    page = login("owner")
    assert page.locator("nav >> text=Audit log").count() == 0
    page.goto(f"/identities/{history.code}/")
    page.click("[data-testid=timeline-link]")
    page.wait_for_url(f"**/identities/{history.code}/timeline/")
    assert "Ticket OPS-1942" in page.locator("[data-testid=timeline]").inner_text()
    response = page.goto("/audit/")
    assert response.status == 403
