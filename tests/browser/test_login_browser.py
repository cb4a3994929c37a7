"""Sign-in in a real browser: an analyst's password + TOTP step, a new analyst's forced
TOTP enrolment, and a security key registered through Chromium's virtual authenticator."""

import re

import pytest
from allauth.mfa.models import Authenticator

from tests.factories import UserFactory
from tests.totp import fresh_totp_code, totp_code

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _own_rate_limits(own_rate_limits):
    """Failed sign-ins are counted per address: each test counts in a cache of its own."""


def no_inline_script(page) -> bool:
    return not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.content())


def test_it_signs_an_analyst_in_with_password_and_authenticator_code(page, users, shots):
    page.goto("/accounts/login/")
    page.screenshot(path=f"{shots}/login.png", full_page=True)
    page.fill("#id_login", "analyst@example.test")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")  # not the top bar's Sign out
    page.wait_for_url("**/accounts/2fa/authenticate/")
    assert "Two-factor authentication" in page.inner_text("h1")
    assert no_inline_script(page)
    page.fill("#id_code", "000000" if totp_code() != "000000" else "111111")
    page.click("text=Verify and sign in")
    assert "Incorrect code" in page.inner_text(".auth-card")
    page.fill("#id_code", fresh_totp_code(users["analyst"]))
    page.screenshot(path=f"{shots}/login-totp.png", full_page=True)
    page.click("text=Verify and sign in")
    page.wait_for_url(lambda url: "/accounts/" not in url)
    assert "analyst@example.test" in page.inner_text(".topbar")


def test_a_new_analyst_is_made_to_set_up_an_authenticator_app(page, users, shots):
    user = UserFactory(username="new-analyst@example.test", role="analyst")
    page.goto("/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")  # not the top bar's Sign out
    page.wait_for_url("**/accounts/2fa/")
    assert "requires two-factor authentication" in page.inner_text(".messages")
    page.screenshot(path=f"{shots}/mfa-required.png", full_page=True)
    page.goto("/identities/")  # still fenced in
    page.wait_for_url("**/accounts/2fa/")

    page.click("a[href='/accounts/2fa/totp/activate/']")
    page.wait_for_url("**/accounts/reauthenticate/**")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")  # not the top bar's Sign out
    page.wait_for_url("**/accounts/2fa/totp/activate/")
    secret = page.input_value("[data-testid=totp-secret]")
    assert page.locator("img.qr").is_visible() and no_inline_script(page)
    page.fill("#id_code", totp_code(secret))
    page.screenshot(path=f"{shots}/mfa-totp-activate.png", full_page=True)
    page.click("text=Activate")
    page.wait_for_url(lambda url: "/totp/activate/" not in url)
    assert Authenticator.objects.filter(user=user, type="totp").exists()
    page.goto("/identities/")
    page.wait_for_url("**/identities/")


def test_an_analyst_registers_a_security_key(page, users, settings, shots):
    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True  # the live server is plain http
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True}})
    page.goto("/accounts/login/")
    page.fill("#id_login", "analyst@example.test")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")  # not the top bar's Sign out
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("#id_code", fresh_totp_code(users["analyst"]))
    page.click("text=Verify and sign in")
    page.wait_for_url(lambda url: "/accounts/" not in url)

    page.goto("/accounts/2fa/webauthn/add/")
    page.wait_for_url("**/accounts/reauthenticate/**")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")  # not the top bar's Sign out
    page.wait_for_url("**/accounts/2fa/webauthn/add/")
    assert no_inline_script(page)
    page.fill("#id_name", "Virtual key")
    page.screenshot(path=f"{shots}/mfa-webauthn-add.png", full_page=True)
    page.click("#mfa_webauthn_add")
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    key = Authenticator.objects.get(user=users["analyst"], type="webauthn")
    assert key.wrap().name == "Virtual key"
    page.goto("/accounts/2fa/")
    page.screenshot(path=f"{shots}/mfa-index.png", full_page=True)
    assert "1 security key" in page.inner_text("main")


def test_an_owner_signs_in_through_the_oidc_provider(page, users, settings, monkeypatch, shots):
    from nhigov.lib.sso_config import oidc_app_from_env, providers_setting
    from tests.live.servers_oidc import OIDCServer

    with OIDCServer() as idp:
        for name, value in {"PROVIDER_ID": "corp", "NAME": "Corp SSO", "SERVER_URL": idp.url,
                            "CLIENT_ID": idp.provider.client_id,
                            "CLIENT_SECRET": idp.provider.client_secret}.items():
            monkeypatch.setenv(f"NHIGOV_OIDC_{name}", value)
        settings.SOCIALACCOUNT_PROVIDERS = providers_setting(oidc_app_from_env())
        idp.provider.identity = {"sub": "corp-42", "email": "owner@example.test",
                                 "email_verified": True}
        page.goto("/accounts/login/")
        page.screenshot(path=f"{shots}/login-sso.png", full_page=True)
        page.click("[data-testid=sso-login]")
        page.wait_for_url(lambda url: "/accounts/" not in url and "127.0.0.1" not in url)
        assert "owner@example.test" in page.inner_text(".topbar")

        idp.provider.identity = {"sub": "corp-43", "email": "stranger@example.test",
                                 "email_verified": True}
        page.click("text=Sign out")
        page.wait_for_url("**/accounts/login/")
        page.click("[data-testid=sso-login]")
        page.wait_for_selector("[data-testid=sso-refused]")
        page.screenshot(path=f"{shots}/login-sso-refused.png", full_page=True)
