"""The Content-Security-Policy in a real browser: every main page loads under it with no
violation (no inline script, style attribute or handler anywhere), and the API tokens page
works end to end."""

import pytest
from django.urls import reverse

from nhigov.lib.security_headers import CSP
from nhigov.models import ApiToken
from tests.factories import IdentityFactory, SourceFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Recorded by the page itself: init scripts run outside the page's CSP.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' +
                    (e.sourceFile || '') + ':' + e.lineNumber));
"""


@pytest.fixture
def watched(page):
    """The page, recording CSP violations from events and from the console."""
    console = []
    page.context.add_init_script(WATCH)
    page.on("console", lambda m: console.append(m.text)
            if "Content Security Policy" in m.text else None)

    def violations() -> list[str]:
        return console + page.evaluate("window.__csp || []")

    page.violations = violations
    return page


def main_pages(identity, source) -> list[str]:
    return [
        "/dashboard/", "/identities/", f"/identities/{identity.code}/",
        f"/identities/{identity.code}/edit/", "/findings/", "/risk/rules/", "/risk/policy/",
        "/risk/alerts/", "/risk/leaks/", "/sources/", f"/sources/{source.code}/",
        "/sources/new/", "/teams/", "/people/", "/reviews/", "/reviews/campaigns/",
        "/reviews/campaigns/new/", "/reviews/remediation/", "/import/",
        reverse("audit:log"), reverse("evidence:pack"), "/account/tokens/",
        "/api/v1/docs/", "/admin/", "/admin/auth/user/", "/accounts/2fa/",
    ]


def test_every_main_page_loads_without_a_csp_violation(watched, login, shots):
    identity, source = IdentityFactory(), SourceFactory()
    watched.goto("/accounts/login/")
    assert watched.violations() == []
    page = login("admin")
    failures = {}
    for url in main_pages(identity, source):
        response = page.goto(url)
        page.wait_for_load_state("networkidle")
        assert response.status == 200, url
        assert response.headers["content-security-policy"] == CSP, url
        if page.violations():
            failures[url] = page.violations()
    assert failures == {}
    page.goto("/api/v1/docs/")
    page.locator(".swagger-ui .info").wait_for()  # Swagger UI initialised from its file
    page.screenshot(path=f"{shots}/api-docs-csp.png", full_page=False)
    page.goto("/dashboard/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=f"{shots}/dashboard-csp.png", full_page=False)
    assert page.violations() == []


def test_owner_link_pages_load_without_a_csp_violation(watched):
    response = watched.goto("/review/an-unknown-token-for-the-problem-page/")
    assert response.status == 404
    assert response.headers["referrer-policy"] == "no-referrer"
    assert watched.violations() == []


def test_it_creates_shows_once_and_revokes_a_token(watched, login, users, shots):
    page = login("analyst")
    page.click("text=API tokens")
    page.wait_for_url("**/account/tokens/")
    page.fill("#id_name", "nightly export")
    page.check("input[name=scope][value=write]")
    page.select_option("#id_days", "30")
    page.click("[data-testid=create-token] button[type=submit]")
    shown = page.locator(".token-value").inner_text()
    assert shown.startswith("nhi_")
    page.screenshot(path=f"{shots}/tokens-created.png", full_page=True)
    token = ApiToken.objects.get(user=users["analyst"])
    assert token.prefix in page.inner_text("[data-testid=tokens]")

    page.goto("/account/tokens/")
    assert shown not in page.content()
    page.click("[data-testid=tokens] button:has-text('Revoke')")
    page.wait_for_url("**/account/tokens/")
    assert "revoked" in page.inner_text(".messages")
    page.screenshot(path=f"{shots}/tokens-revoked.png", full_page=True)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert page.violations() == []
