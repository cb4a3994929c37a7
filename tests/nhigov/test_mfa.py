"""Two-factor authentication: required for admins and analysts, TOTP enrolment and sign-in
with real RFC 6238 codes, the gate on pages and on the session API, WebAuthn wiring."""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from nhigov.lib.env import env_choices
from nhigov.models import AuditEvent
from tests.factories import UserFactory
from tests.totp import TEST_TOTP_SECRET, fresh_totp_code, totp_code

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _own_rate_limits(own_rate_limits):
    """Failed sign-ins are counted per address: each test counts in a cache of its own."""


def sign_in(client: Client, user) -> None:
    """A real password sign-in (plus the TOTP step when the user has an authenticator)."""
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    if response["Location"] == "/accounts/2fa/authenticate/":
        response = client.post("/accounts/2fa/authenticate/", {"code": fresh_totp_code(user)})
    assert response.status_code == 302 and "/accounts/login/" not in response["Location"]


@pytest.fixture
def bare_analyst(users):
    """An analyst who has not set up any second factor yet."""
    return UserFactory(username="new-analyst@example.test", role="analyst")


def test_it_gives_the_fixture_admins_and_analysts_a_totp_authenticator(users):
    assert {a.user.username for a in Authenticator.objects.filter(type="totp")} == {
        "admin@example.test", "analyst@example.test"}


def test_it_computes_rfc_6238_codes():
    # RFC 6238 appendix B, SHA-1 seed "12345678901234567890", 8 digits -> last 6 digits.
    seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp_code(seed, at=59) == "287082"
    assert totp_code(seed, at=1111111109) == "081804"


@pytest.mark.parametrize("url", ["/", "/identities/", "/sources/", "/findings/", "/admin/"])
def test_it_sends_an_analyst_without_a_second_factor_to_the_setup_page(bare_analyst, url):
    client = Client()
    client.force_login(bare_analyst)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/"
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200
    assert "requires two-factor authentication" in page.content.decode()


def test_it_leaves_setup_logout_and_static_files_reachable(bare_analyst):
    client = Client()
    client.force_login(bare_analyst)
    # Not recently signed in with a password (force_login): allauth asks to re-authenticate,
    # which the gate lets through as well.
    assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith(
        "/accounts/reauthenticate/")
    assert client.get("/accounts/reauthenticate/").status_code == 200
    # The test client serves no static files (404), but the gate does not redirect them.
    assert client.get("/static/nhigov/app.css").status_code == 404
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/identities/").status_code == 302  # signed out: the login page


def test_it_refuses_the_session_api_until_a_second_factor_is_set_up(bare_analyst):
    client = Client()
    client.force_login(bare_analyst)
    response = client.get("/api/v1/identities/")
    assert response.status_code == 403
    assert "Two-factor authentication" in response.json()["detail"]


def test_it_lets_api_tokens_through_the_gate(bare_analyst, api_token):
    token = api_token(bare_analyst)
    response = Client().get("/api/v1/identities/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


def test_it_does_not_force_owners_or_auditors(client_for):
    assert client_for("owner").get("/identities/").status_code == 200
    assert client_for("auditor").get("/identities/").status_code == 200


def test_it_lets_everyone_through_with_an_empty_required_roles_setting(bare_analyst, settings):
    settings.NHIGOV_MFA_REQUIRED_ROLES = []
    client = Client()
    client.force_login(bare_analyst)
    assert client.get("/identities/").status_code == 200


def test_it_can_require_the_second_factor_of_auditors_too(users, settings):
    settings.NHIGOV_MFA_REQUIRED_ROLES = ["admin", "analyst", "auditor"]
    client = Client()
    client.force_login(users["auditor"])
    assert client.get("/identities/")["Location"] == "/accounts/2fa/"


def test_it_parses_the_required_roles_strictly(monkeypatch):
    roles = ("admin", "analyst", "auditor", "owner")
    monkeypatch.setenv("NHIGOV_MFA_REQUIRED_ROLES", "admin, auditor")
    assert env_choices("NHIGOV_MFA_REQUIRED_ROLES", roles, []) == ["admin", "auditor"]
    monkeypatch.setenv("NHIGOV_MFA_REQUIRED_ROLES", "")
    assert env_choices("NHIGOV_MFA_REQUIRED_ROLES", roles, ["admin"]) == []
    monkeypatch.setenv("NHIGOV_MFA_REQUIRED_ROLES", "admin,analysts")
    with pytest.raises(ImproperlyConfigured, match="analysts"):
        env_choices("NHIGOV_MFA_REQUIRED_ROLES", roles, [])


# A real commit: allauth sends its audit signal and notification mail on commit, while the
# request (and the site it names in the mail) is still there.
@pytest.mark.django_db(transaction=True)
def test_it_enrols_totp_then_signs_in_with_a_code_from_the_app(bare_analyst, mailoutbox):
    client = Client()
    response = client.post("/accounts/login/", {"login": bare_analyst.email,
                                                "password": PASSWORD})
    assert client.get(response["Location"], follow=True).redirect_chain[-1][0] == "/accounts/2fa/"
    # allauth asks for the password again before an authenticator is added (a hijacked
    # session cannot enrol its own app), then resumes the setup page.
    response = client.get("/accounts/2fa/totp/activate/")
    assert response["Location"].startswith("/accounts/reauthenticate/")
    page = client.post(response["Location"], {"password": PASSWORD}, follow=True)
    assert page.redirect_chain[-1][0] == "/accounts/2fa/totp/activate/"
    secret = page.context["form"].secret
    assert 'data-testid="totp-qr"' in page.content.decode()
    assert client.post("/accounts/2fa/totp/activate/", {"code": "000000" if totp_code(
        secret) != "000000" else "111111"}).status_code == 200  # a wrong code changes nothing
    assert not Authenticator.objects.filter(user=bare_analyst).exists()

    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert response.status_code == 302
    # The app, and the recovery codes allauth creates with the first authenticator.
    events = AuditEvent.objects.filter(action="user.mfa_add", object_id=bare_analyst.username)
    assert sorted(e.after["type"] for e in events) == ["recovery_codes", "totp"]
    assert [m.subject for m in mailoutbox] == ["[nhigov] Authenticator App Activated"]
    stored = Authenticator.objects.get(user=bare_analyst, type="totp")
    # The seed is encrypted at rest: neither it nor its bytes appear in the row.
    assert secret not in str(stored.data) and stored.data["secret"].startswith("fernet:")
    assert client.get("/identities/").status_code == 200

    client.post("/accounts/logout/")
    assert client.post("/accounts/login/", {"login": bare_analyst.email, "password": PASSWORD}
                       )["Location"] == "/accounts/2fa/authenticate/"
    code = fresh_totp_code(bare_analyst, secret)
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert client.get("/identities/").status_code == 200
    # A code is good once: replaying it on a new sign-in is refused.
    replay = Client()
    replay.post("/accounts/login/", {"login": bare_analyst.email, "password": PASSWORD})
    assert replay.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 200
    assert replay.get("/identities/").status_code == 302


def test_it_offers_security_keys_with_creation_options_and_no_inline_script(users):
    client = Client()
    sign_in(client, users["analyst"])
    response = client.get("/accounts/2fa/webauthn/add/")
    page = client.post(response["Location"], {"password": PASSWORD}, follow=True)
    assert page.redirect_chain[-1][0] == "/accounts/2fa/webauthn/add/"
    assert page.status_code == 200
    options = page.context["js_data"]["creation_options"]["publicKey"]
    assert options["rp"]["id"] == "testserver"
    assert options["user"]["name"] == "analyst@example.test"
    assert options["challenge"]
    html = page.content.decode()
    assert 'data-webauthn-form="addForm"' in html
    assert "nhigov/mfa-webauthn.js" in html and "mfa/js/webauthn.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)


def test_it_wires_passkey_sign_in_and_the_supported_types(settings):
    from allauth.mfa import app_settings

    assert settings.MFA_SUPPORTED_TYPES == ["totp", "webauthn", "recovery_codes"]
    assert app_settings.PASSKEY_LOGIN_ENABLED
    client = Client()
    page = client.get("/accounts/login/").content.decode()
    assert 'id="passkey_login"' in page and 'data-webauthn-form="loginForm"' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    response = client.get("/accounts/2fa/webauthn/login/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["request_options"]["publicKey"]["challenge"]


def test_it_keeps_the_fixture_secret_out_of_the_database(users):
    rows = str(list(Authenticator.objects.values_list("data", flat=True)))
    assert TEST_TOTP_SECRET not in rows
