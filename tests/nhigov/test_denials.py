"""Refusals are logged to `nhigov.security` and audited (rate-limited) in one place."""

import logging

import pytest

from nhigov.lib import denials
from nhigov.lib.audit import verify_chain
from nhigov.models import AuditEvent
from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db

LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                           "LOCATION": "nhigov-denial-tests"}}


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Rate-limit counts live in the cache: a private one per test (never a shared Redis)."""
    from django.core.cache import cache

    settings.CACHES = LOCAL_CACHE
    cache.clear()


def security_records(caplog) -> list[dict]:
    return [r.denial for r in caplog.records if r.name == "nhigov.security"
            and hasattr(r, "denial")]


def denied_events():
    return AuditEvent.objects.filter(action="access.denied").order_by("id")


def test_it_logs_and_audits_a_refused_page(client_for, caplog):
    with caplog.at_level(logging.WARNING, logger="nhigov.security"):
        response = client_for("auditor").get("/sources/new/")
    assert response.status_code == 403
    [record] = security_records(caplog)
    assert record["user"] == "auditor@example.test" and record["role"] == "auditor"
    assert (record["method"], record["path"], record["status"]) == ("GET", "/sources/new/", 403)
    assert record["request_id"] == response["X-Request-ID"]
    [event] = denied_events()
    assert event.actor == "auditor@example.test" and event.request_id == record["request_id"]
    assert event.after["path"] == "/sources/new/" and event.after["role"] == "auditor"
    assert event.after["view"] == "inventory:source_create"
    assert verify_chain().ok


def test_it_logs_a_refused_api_call(client_for, caplog):
    with caplog.at_level(logging.WARNING, logger="nhigov.security"):
        response = client_for("owner").post("/api/v1/sources/", {}, content_type="application/json")
    assert response.status_code == 403
    [record] = security_records(caplog)
    assert (record["role"], record["method"], record["view"]) == ("owner", "POST",
                                                                   "api-source-list")


def test_it_names_the_user_of_a_read_only_token_refused_on_a_write(api_token, caplog):
    from django.test import Client

    token = api_token("analyst", scope="read")
    with caplog.at_level(logging.WARNING, logger="nhigov.security"):
        response = Client().post("/api/v1/teams/", {}, content_type="application/json",
                                 HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    [record] = security_records(caplog)
    assert (record["user"], record["role"]) == ("analyst@example.test", "analyst")
    assert denied_events().get().actor == "analyst@example.test"


def test_it_logs_an_owner_s_scoped_404(client_for, caplog):
    theirs = IdentityFactory(technical_owner=PersonFactory())
    with caplog.at_level(logging.WARNING, logger="nhigov.security"):
        response = client_for("owner").get(f"/api/v1/identities/{theirs.code}/")
    assert response.status_code == 404
    [record] = security_records(caplog)
    assert record["status"] == 404 and record["view"] == "api-identity-detail"
    assert denied_events().count() == 1


def test_it_ignores_unknown_paths_and_anonymous_404s(client, client_for, caplog):
    with caplog.at_level(logging.WARNING, logger="nhigov.security"):
        assert client_for("analyst").get("/no-such-page/").status_code == 404
        assert client.get("/review/" + "x" * 43 + "/").status_code == 404
    assert security_records(caplog) == [] and not denied_events().exists()


def test_it_audits_a_repeated_denial_once_per_window(client_for, caplog, settings):
    settings.DENIAL_AUDIT_SECONDS = 60  # the default outside tests
    client = client_for("owner")
    with caplog.at_level(logging.WARNING, logger="nhigov.security"):
        for _ in range(3):
            assert client.get("/sources/").status_code == 403
        assert client.get("/teams/").status_code == 403  # another page: its own event
    assert len(security_records(caplog)) == 4
    assert [e.after["path"] for e in denied_events()] == ["/sources/", "/teams/"]
    assert [r["audited"] for r in security_records(caplog)] == [True, False, False, True]


def test_it_audits_every_denial_when_the_window_is_zero(client_for, settings):
    settings.DENIAL_AUDIT_SECONDS = 0
    client = client_for("owner")
    for _ in range(3):
        client.get("/sources/")
    assert denied_events().count() == 3
    assert verify_chain().ok


def test_it_never_logs_an_owner_link_token(client_for, caplog):
    token = "s3cret-token-" + "q" * 30
    with caplog.at_level(logging.DEBUG, logger="nhigov.security"):
        response = client_for("analyst").get(f"/review/{token}/")
    assert response.status_code == 404
    [record] = security_records(caplog)
    assert record["path"] == "/review/[redacted]/"
    assert token not in caplog.text
    assert not any(token in str(e.after) + e.object_repr for e in denied_events())


def test_a_csrf_refusal_never_logs_an_owner_link_token_or_reset_key(caplog):
    # Django logs CSRF failures ("Forbidden (...): <path>") on django.security.csrf, not
    # django.request: that logger needs the path redaction too.
    from django.test import Client

    token = "s3cret-token-" + "q" * 30
    client = Client(enforce_csrf_checks=True)
    with caplog.at_level(logging.DEBUG):
        first = client.post(f"/review/{token}/", {})
        second = client.post(f"/accounts/password/reset/key/1a-{token}/", {})
    assert first.status_code == second.status_code == 403
    assert any(r.name == "django.security.csrf" for r in caplog.records)
    assert token not in caplog.text


def test_it_still_refuses_when_the_audit_write_fails(client_for, caplog, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(denials, "record", broken)
    with caplog.at_level(logging.WARNING, logger="nhigov.security"):
        response = client_for("owner").get("/sources/")
    assert response.status_code == 403
    assert len(security_records(caplog)) == 1
    assert "could not audit a denial" in caplog.text
