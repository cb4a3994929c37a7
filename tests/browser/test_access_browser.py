"""Refusals in a real browser: a page outside the role is a 403 page, an identity outside
the owner's scope a 404 page that names nothing; both inside the portal's own layout."""

import pytest

from nhigov.models import AuditEvent
from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_is_refused_calmly_and_the_refusal_is_audited(login, owner_person, shots):
    IdentityFactory(name="svc-mine-browser", technical_owner=owner_person)
    theirs = IdentityFactory(name="svc-theirs-browser", technical_owner=PersonFactory())
    page = login("owner")

    response = page.goto("/sources/")
    assert response.status == 403
    panel = page.get_by_test_id("denied")
    assert "does not give access" in panel.inner_text()
    reference = response.headers["x-request-id"]
    assert reference in panel.inner_text()
    assert page.locator("nav >> text=Identities").is_visible()  # still inside the portal
    page.screenshot(path=f"{shots}/access-403.png", full_page=True)

    response = page.goto(f"/identities/{theirs.code}/")
    assert response.status == 404
    assert page.get_by_test_id("not-found").is_visible()
    assert "svc-theirs-browser" not in page.content()
    page.screenshot(path=f"{shots}/access-404.png", full_page=True)

    assert AuditEvent.objects.filter(action="access.denied", request_id=reference).exists()
