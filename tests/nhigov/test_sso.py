"""OIDC single sign-on against a real OpenID Connect provider on loopback
(tests/live/servers_oidc.py): existing users only, matched by a verified email."""

from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from nhigov.lib.sso_config import oidc_app_from_env, providers_setting
from nhigov.models import AuditEvent
from tests.live.servers_oidc import OIDCServer
from tests.totp import fresh_totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_rate_limits(own_rate_limits):
    """Failed sign-ins are counted per address: each test counts in a cache of its own."""


@pytest.fixture
def idp(settings, monkeypatch):
    """The loopback provider, configured through the same NHIGOV_OIDC_* parsing as prod."""
    with OIDCServer() as server:
        monkeypatch.setenv("NHIGOV_OIDC_PROVIDER_ID", "corp")
        monkeypatch.setenv("NHIGOV_OIDC_NAME", "Corp SSO")
        monkeypatch.setenv("NHIGOV_OIDC_SERVER_URL", server.url)
        monkeypatch.setenv("NHIGOV_OIDC_CLIENT_ID", server.provider.client_id)
        monkeypatch.setenv("NHIGOV_OIDC_CLIENT_SECRET", server.provider.client_secret)
        settings.SOCIALACCOUNT_PROVIDERS = providers_setting(oidc_app_from_env())
        yield server


def sso(client: Client, idp: OIDCServer, **identity):
    """Drive the whole flow: the login button's POST, the IdP's authorize redirect, and the
    callback (where the portal calls the token and userinfo endpoints itself)."""
    idp.provider.identity = {"sub": "corp-0001", "email_verified": True, **identity}
    start = client.post("/accounts/oidc/corp/login/")
    assert start.status_code == 302 and start["Location"].startswith(f"{idp.url}/authorize?")
    query = parse_qs(urlparse(start["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and "openid" in query["scope"][0]
    back = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302
    callback = urlparse(back.headers["Location"])
    assert callback.path == "/accounts/oidc/corp/login/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def test_it_shows_the_sso_button_only_when_configured(idp, settings):
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with Corp SSO" in page and 'action="/accounts/oidc/corp/login/"' in page
    settings.SOCIALACCOUNT_PROVIDERS = {}
    assert "Sign in with" not in Client().get("/accounts/login/").content.decode().replace(
        "Sign in with a passkey", "")


def test_it_signs_an_existing_user_in_by_verified_email(idp, users, mailoutbox):
    client = Client()
    response = sso(client, idp, email="OWNER@example.test")
    assert response.status_code == 302 and "/accounts/" not in response["Location"]
    assert client.get("/identities/").status_code == 200
    assert int(client.session["_auth_user_id"]) == users["owner"].pk
    account = SocialAccount.objects.get(user=users["owner"])
    assert (account.provider, account.uid) == ("corp", "corp-0001")
    event = AuditEvent.objects.get(action="user.sso_link")
    assert event.after == {"provider": "corp", "subject": "corp-0001"}
    # The portal used every endpoint, and its password still works (not wiped).
    paths = {path for _, path in idp.provider.requests}
    assert {"/.well-known/openid-configuration", "/token", "/userinfo"} <= paths
    users["owner"].refresh_from_db()
    assert users["owner"].check_password("correct-horse-battery")
    # Later sign-ins match on the subject, even after the IdP changes the address.
    again = Client()
    assert sso(again, idp, email="olive.renamed@example.test").status_code == 302
    assert int(again.session["_auth_user_id"]) == users["owner"].pk


def test_it_still_asks_an_analyst_for_the_second_factor(idp, users):
    client = Client()
    response = sso(client, idp, email="analyst@example.test", sub="corp-0002")
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/identities/").status_code == 302
    code = fresh_totp_code(users["analyst"])
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert client.get("/identities/").status_code == 200


@pytest.mark.parametrize("identity", [
    {"email": "stranger@example.test"},
    {"email": "owner@example.test", "email_verified": False},
    # Some providers (Amazon Cognito's userinfo) send the claim as a string.
    {"email": "owner@example.test", "email_verified": "false"},
    {"email": ""},
    # Unicode look-alikes that PostgreSQL's UPPER() folds onto owner@example.test.
    {"email": "owner@example.te\u017ft"},
    {"email": "OWNER@EXAMPLE.TE\u017fT"},
])
def test_it_refuses_unknown_or_unverified_people_and_creates_no_account(idp, users, identity,
                                                                       caplog):
    before = get_user_model().objects.count()
    client = Client()
    response = sso(client, idp, **identity)
    assert response.status_code == 403
    assert "does not match a nhigov account" in response.content.decode()
    assert get_user_model().objects.count() == before
    assert not SocialAccount.objects.exists()
    assert client.get("/identities/").status_code == 302
    assert "stranger@" not in caplog.text and "sso login refused" in caplog.text


def test_it_refuses_a_deactivated_user_linked_earlier(idp, users):
    sso(Client(), idp, email="owner@example.test")
    users["owner"].is_active = False
    users["owner"].save()
    response = sso(Client(), idp, email="owner@example.test")
    assert response.status_code == 403 and "deactivated" in response.content.decode()


def test_the_provider_signs_id_tokens_with_its_published_key(idp):
    idp.provider.identity = {"sub": "x", "email": "x@example.test"}
    location = idp.provider.authorize({"client_id": idp.provider.client_id,
                                       "response_type": "code", "redirect_uri": "http://t/cb"})
    code = parse_qs(urlparse(location).query)["code"][0]
    issued = idp.provider.token({"code": code, "redirect_uri": "http://t/cb"},
                                (idp.provider.client_id, idp.provider.client_secret))
    key = jwt.PyJWKClient(f"{idp.url}/jwks").get_signing_key_from_jwt(issued["id_token"])
    claims = jwt.decode(issued["id_token"], key.key, algorithms=["RS256"],
                        audience=idp.provider.client_id, issuer=idp.url)
    assert claims["sub"] == "x"


@pytest.mark.parametrize(("env", "message"), [
    ({"NHIGOV_OIDC_PROVIDER_ID": "corp"}, "NHIGOV_OIDC_SERVER_URL"),
    ({"NHIGOV_OIDC_PROVIDER_ID": "Corp SSO", "NHIGOV_OIDC_SERVER_URL": "https://idp.example",
      "NHIGOV_OIDC_CLIENT_ID": "c"}, "lower-case"),
    ({"NHIGOV_OIDC_PROVIDER_ID": "corp", "NHIGOV_OIDC_SERVER_URL": "http://idp.example",
      "NHIGOV_OIDC_CLIENT_ID": "c"}, "https://"),
    ({"NHIGOV_OIDC_CLIENT_SECRET": "s3cr3t-value"}, "NHIGOV_OIDC_PROVIDER_ID"),
])
def test_it_refuses_partial_or_unsafe_configuration(monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message) as error:
        oidc_app_from_env()
    assert "s3cr3t-value" not in str(error.value)


def test_it_reads_the_client_secret_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "oidc-secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("NHIGOV_OIDC_PROVIDER_ID", "corp")
    monkeypatch.setenv("NHIGOV_OIDC_SERVER_URL", "https://idp.example/realms/x/")
    monkeypatch.setenv("NHIGOV_OIDC_CLIENT_ID", "nhigov")
    monkeypatch.setenv("NHIGOV_OIDC_CLIENT_SECRET_FILE", str(secret))
    app = oidc_app_from_env()
    assert app["secret"] == "from-a-file" and app["name"] == "corp"
    assert app["settings"]["server_url"] == "https://idp.example/realms/x"
    monkeypatch.setenv("NHIGOV_OIDC_CLIENT_SECRET", "also-set")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        oidc_app_from_env()


def test_it_is_off_when_nothing_is_set(monkeypatch):
    for name in ("PROVIDER_ID", "NAME", "SERVER_URL", "CLIENT_ID", "CLIENT_SECRET",
                 "CLIENT_SECRET_FILE"):
        monkeypatch.delenv(f"NHIGOV_OIDC_{name}", raising=False)
    assert oidc_app_from_env() is None and providers_setting(None) == {}


def test_the_sign_in_page_lets_its_sso_form_reach_the_provider_only(idp, settings):
    csp = Client().get("/accounts/login/")["Content-Security-Policy"]
    assert f"form-action 'self' {idp.url};" in csp and "script-src 'self';" in csp
    assert f"{idp.url}" not in Client().get("/accounts/password/reset/")[
        "Content-Security-Policy"]
    settings.SOCIALACCOUNT_PROVIDERS = {}
    assert "form-action 'self';" in Client().get("/accounts/login/")["Content-Security-Policy"]
