"""Personal API tokens on the API: Bearer and Token headers, scope, expiry, revocation,
last use stamped at most once a minute, and nothing secret stored."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from nhigov.lib import tokens
from nhigov.lib.audit import Actor
from nhigov.models import ApiToken, AuditEvent
from tests.factories import IdentityFactory

pytestmark = pytest.mark.django_db
LIST = "/api/v1/identities/"


def client_with(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


def detail(identity) -> str:
    return f"/api/v1/identities/{identity.code}/"


def issue(user, scope="write", days=30) -> tuple[ApiToken, str]:
    return tokens.issue(user, "laptop", scope, timezone.now() + timedelta(days=days),
                        Actor.for_user(user))


def test_it_accepts_bearer_and_legacy_token_headers(users):
    _, raw = issue(users["auditor"], "read")
    assert client_with(f"Bearer {raw}").get(LIST).status_code == 200
    assert client_with(f"Token {raw}").get(LIST).status_code == 200


def test_it_stores_only_an_hmac_and_audits_without_the_secret(users):
    token, raw = issue(users["analyst"])
    stored = str(list(ApiToken.objects.values()))
    assert raw not in stored and raw[tokens.PREFIX_LENGTH:] not in stored
    assert token.digest == tokens.digest(raw) and len(token.digest) == 64
    event = AuditEvent.objects.get(action="api_token.create")
    assert raw not in str(event.after) and token.digest not in str(event.after)
    assert event.after["scope"] == "write" and event.after["prefix"] == raw[:12]


def test_a_read_token_cannot_write_even_for_an_analyst(users):
    identity = IdentityFactory(zone="compute")
    _, raw = issue(users["analyst"], "read")
    client = client_with(f"Bearer {raw}")
    response = client.patch(detail(identity), {"reason": "r", "zone": "access"}, format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    identity.refresh_from_db()
    assert identity.zone == "compute"


def test_a_write_token_does_what_the_role_allows(users):
    identity = IdentityFactory(zone="compute")
    _, analyst = issue(users["analyst"])
    _, auditor = issue(users["auditor"])
    change = {"reason": "moved", "zone": "access"}
    assert client_with(f"Bearer {auditor}").patch(detail(identity), change,
                                                  format="json").status_code == 403
    assert client_with(f"Bearer {analyst}").patch(detail(identity), change,
                                                  format="json").status_code == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [({"revoked_at": timezone.now()}, "revoked"),
     ({"expires_at": timezone.now() - timedelta(seconds=1)}, "expired")],
)
def test_it_refuses_revoked_and_expired_tokens_with_a_clear_401(users, change, message):
    token, raw = issue(users["auditor"], "read")
    ApiToken.objects.filter(pk=token.pk).update(**change)
    response = client_with(f"Bearer {raw}").get(LIST)
    assert response.status_code == 401
    assert message in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_unknown_tokens_and_malformed_headers(db):
    assert client_with("Bearer nhi_not-a-token").get(LIST).status_code == 401
    assert client_with("Bearer two parts").get(LIST).status_code == 401
    assert client_with("Bearer").get(LIST).status_code == 401


def test_it_refuses_an_inactive_users_token(users):
    token, raw = issue(users["auditor"], "read")
    users["auditor"].__class__.objects.filter(pk=users["auditor"].pk).update(is_active=False)
    assert client_with(f"Bearer {raw}").get(LIST).status_code == 401


def test_it_stamps_last_use_at_most_once_a_minute(users):
    token, raw = issue(users["auditor"], "read")
    client = client_with(f"Bearer {raw}")
    client.get(LIST)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        client.get(LIST)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    assert not [q for q in queries if q["sql"].startswith("UPDATE")]
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get(LIST)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


def test_it_checks_a_token_in_one_query(users):
    token, raw = issue(users["auditor"], "read")
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        tokens.check(raw)
    assert len(queries) == 1


def test_it_refuses_a_lifetime_beyond_the_maximum(users, settings):
    settings.NHIGOV_API_TOKEN_MAX_DAYS = 10
    with pytest.raises(ValueError, match="within 10 days"):
        issue(users["auditor"], days=11)
    assert not ApiToken.objects.exists()


def test_revoking_twice_records_once(users):
    token, _ = issue(users["auditor"], "read")
    actor = Actor.for_user(users["auditor"])
    assert tokens.revoke(token, actor) is True
    assert tokens.revoke(token, actor) is False
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1
