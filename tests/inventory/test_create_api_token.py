"""Command: create_api_token issues a token once (stored hashed), rotates it on request,
and audits both."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from nhigov.lib import tokens
from nhigov.models import ApiToken, AuditEvent
from tests.factories import UserFactory


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue().strip()


def status_with(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.get("/api/v1/identities/").status_code


def test_it_prints_a_token_that_authenticates(users):
    key = run("Analyst@Example.test")

    token = ApiToken.objects.get(user=users["analyst"])
    assert (token.digest, token.scope) == (tokens.digest(key), "read")
    assert key.startswith(token.prefix) and key not in str(list(ApiToken.objects.values()))
    assert status_with(key) == 200
    event = AuditEvent.objects.get()
    assert (event.action, event.after["user"]) == ("api_token.create", "analyst@example.test")
    assert key not in str(event.before) + str(event.after) + event.reason


def test_it_refuses_to_issue_a_second_token_without_rotate(users):
    first = run("auditor@example.test")
    with pytest.raises(CommandError, match="--rotate"):
        run("auditor@example.test")
    assert ApiToken.objects.get(user=users["auditor"]).digest == tokens.digest(first)


def test_it_rotates_a_token_and_the_old_one_stops_working(users):
    old = run("owner@example.test")

    new = run("owner@example.test", "--rotate")

    assert new != old
    assert status_with(new) == 200
    assert status_with(old) == 401
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "api_token.create", "api_token.revoke", "api_token.create"]


def test_it_issues_a_write_token_with_a_bounded_expiry(users, settings):
    settings.NHIGOV_API_TOKEN_MAX_DAYS = 30
    run("analyst@example.test", "--scope", "write", "--days", "7", "--name", "ci")
    token = ApiToken.objects.get(user=users["analyst"])
    assert (token.name, token.scope) == ("ci", "write")
    assert abs(token.expires_at - token.created_at - timedelta(days=7)) < timedelta(minutes=1)
    with pytest.raises(CommandError, match="--days must be 1 to 30"):
        run("analyst@example.test", "--days", "31", "--name", "other")


@pytest.mark.parametrize(
    ("email", "message"),
    [("ghost@example.test", "no active user"), ("norole@example.test", "no role"),
     ("inactive@example.test", "no active user")],
)
def test_it_refuses_unknown_inactive_or_roleless_users(users, email, message):
    UserFactory(username="norole@example.test")
    UserFactory(username="inactive@example.test", role="analyst", is_active=False)
    with pytest.raises(CommandError, match=message):
        run(email)
    assert not ApiToken.objects.filter(user__email=email).exists()
    assert not AuditEvent.objects.exists()
