"""/account/tokens/: list, create (the token shown once, never again), revoke; audited."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from nhigov.lib import tokens
from nhigov.lib.audit import Actor
from nhigov.models import ApiToken, AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/account/tokens/"


def created_token(response) -> str:
    return re.search(r'<code class="token-value">([^<]+)</code>', response.content.decode())[1]


def test_it_creates_a_token_shown_once_that_works(client_for, users):
    client = client_for("analyst")
    response = client.post(URL, {"name": "CI pipeline", "scope": "write", "days": "30"})
    assert response.status_code == 200
    raw = created_token(response)
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=users["analyst"])
    assert (token.name, token.scope, token.digest) == ("CI pipeline", "write", tokens.digest(raw))
    assert abs(token.expires_at - timezone.now() - timedelta(days=30)) < timedelta(minutes=1)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/identities/").status_code == 200
    again = client.get(URL).content.decode()
    assert raw not in again and token.prefix in again and "CI pipeline" in again
    event = AuditEvent.objects.get(action="api_token.create")
    assert event.actor == "analyst@example.test" and raw not in str(event.after)


def test_it_offers_read_scope_only_to_roles_that_cannot_edit(client_for, users):
    client = client_for("auditor")
    assert 'value="write"' not in client.get(URL).content.decode()
    response = client.post(URL, {"name": "x", "scope": "write", "days": "30"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()
    assert client.post(URL, {"name": "x", "scope": "read", "days": "30"}).status_code == 200


def test_it_refuses_a_lifetime_above_the_maximum(client_for, settings):
    settings.NHIGOV_API_TOKEN_MAX_DAYS = 30
    response = client_for("analyst").post(URL, {"name": "x", "scope": "read", "days": "90"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_it_revokes_own_tokens_only(client_for, users):
    mine, raw = tokens.issue(users["analyst"], "mine", "read",
                             timezone.now() + timedelta(days=5), Actor.system("t"))
    theirs, _ = tokens.issue(users["auditor"], "theirs", "read",
                             timezone.now() + timedelta(days=5), Actor.system("t"))
    client = client_for("analyst")
    assert client.post(f"{URL}{theirs.code}/revoke/").status_code == 404
    response = client.post(f"{URL}{mine.code}/revoke/", follow=True)
    assert "revoked" in response.content.decode()
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None and theirs.revoked_at is None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/identities/").status_code == 401
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert event.actor == "analyst@example.test"


def test_it_lists_only_the_users_own_tokens_in_few_queries(client_for, users,
                                                           django_assert_max_num_queries):
    for n in range(5):
        tokens.issue(users["owner"], f"t{n}", "read", timezone.now() + timedelta(days=5),
                     Actor.system("t"))
    tokens.issue(users["auditor"], "other", "read", timezone.now() + timedelta(days=5),
                 Actor.system("t"))
    client = client_for("owner")
    with django_assert_max_num_queries(12):
        page = client.get(URL).content.decode()
    assert page.count("<code>nhi_") == 5 and "other" not in page


def test_it_needs_a_role_and_a_login(db):
    assert Client().get(URL).status_code == 302
    roleless = Client()
    roleless.force_login(UserFactory(username="nobody@example.test"))
    assert roleless.get(URL).status_code == 403
