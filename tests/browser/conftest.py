"""Playwright driving Debian's Chromium against pytest-django's live server.

Browser tests skip when no Chromium is installed, unless NHIGOV_REQUIRE_BROWSER=1 (CI sets
it, so there a missing browser fails the run instead of silently skipping).
"""

import os
import shutil

import pytest

from tests.totp import fresh_totp_code

# Playwright's sync API keeps an event loop on the main thread; the ORM calls made by
# fixtures on that thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("NHIGOV_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM} and NHIGOV_REQUIRE_BROWSER=1")
        pytest.skip("Chromium is not installed (apt-get install chromium to run browser tests)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1440, "height": 900}
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page, users):
    """login("analyst") signs that role's user in through the real login form."""

    def sign_in(role: str):
        page.goto("/accounts/login/")
        page.fill("#id_login", users[role].email)
        page.fill("#id_password", "correct-horse-battery")
        page.click("button[type=submit]")
        if users[role].authenticator_set.exists():  # admins and analysts: the TOTP step
            page.wait_for_url("**/accounts/2fa/authenticate/")
            page.fill("#id_code", fresh_totp_code(users[role]))
            page.click("button[type=submit]")
        # Analysts, auditors and admins land on the dashboard, owners on the register.
        page.wait_for_url(lambda url: "/accounts/" not in url)
        return page

    return sign_in


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    """Where browser tests save screenshots: NHIGOV_SCREENSHOTS, or a pytest temp dir."""
    folder = os.environ.get("NHIGOV_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        return folder
    return str(tmp_path_factory.mktemp("screenshots"))


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
