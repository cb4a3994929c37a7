"""Sessions: idle and absolute timeouts, and deactivation ending every session at once."""

import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from rest_framework.test import APIClient

from nhigov.lib import sessions
from nhigov.models import ApiToken, AuditEvent, UserSession

pytestmark = pytest.mark.django_db
PAGE = "/identities/"


def age(client: Client, *, idle: float = 0, since_login: float = 0) -> None:
    """Move the session's clocks into the past by so many seconds."""
    session = client.session
    session[sessions.SEEN_AT] = time.time() - idle
    session[sessions.LOGIN_AT] = time.time() - since_login
    session.save()


def test_it_keeps_an_active_session(client_for):
    client = client_for("auditor")
    age(client, idle=29 * 60, since_login=11 * 3600)
    assert client.get(PAGE).status_code == 200
    # The activity stamp moved on, so the next request starts a new idle period.
    assert time.time() - client.session[sessions.SEEN_AT] < 60


def test_it_signs_out_an_idle_session_with_a_message(client_for):
    client = client_for("auditor")
    age(client, idle=31 * 60)
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fidentities%2F"
    assert "_auth_user_id" not in client.session
    login = client.get(response["Location"])
    assert sessions.EXPIRED_MESSAGE in login.content.decode()
    assert client.get(PAGE).status_code == 302  # still signed out


def test_it_signs_out_after_the_absolute_limit_however_active(client_for, settings):
    settings.NHIGOV_SESSION_MAX_HOURS = 2
    client = client_for("auditor")
    age(client, idle=5, since_login=2 * 3600 + 1)
    assert client.get(PAGE).status_code == 302
    assert "_auth_user_id" not in client.session


def test_it_sends_htmx_requests_a_full_page_redirect(client_for):
    client = client_for("auditor")
    age(client, idle=31 * 60)
    response = client.get(PAGE, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_an_expired_session_on_the_api_is_just_anonymous(users):
    client = APIClient()
    client.force_login(users["auditor"])
    age(client, idle=31 * 60)
    assert client.get("/api/v1/identities/").status_code in (401, 403)


def test_deactivating_a_user_ends_both_live_sessions_and_revokes_tokens(
        client_for, users, api_token):
    laptop, phone, other = client_for("auditor"), client_for("auditor"), client_for("owner")
    raw = api_token("auditor", scope="read")
    assert laptop.get(PAGE).status_code == phone.get(PAGE).status_code == 200
    keys = {laptop.session.session_key, phone.session.session_key}
    assert set(UserSession.objects.filter(user=users["auditor"])
               .values_list("session_key", flat=True)) == keys

    auditor = users["auditor"]
    auditor.is_active = False
    auditor.save()

    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(user=auditor).exists()
    for client in (laptop, phone):
        assert client.get(PAGE).status_code == 302
    assert other.get(PAGE).status_code == 200  # other users are untouched
    assert ApiToken.objects.get(user=auditor).revoked_at is not None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/identities/").status_code == 401
    revoked = AuditEvent.objects.get(action="api_token.revoke")
    assert revoked.reason == "user deactivated"


def test_saving_an_active_user_or_their_last_login_ends_nothing(client_for, users):
    client = client_for("auditor")
    users["auditor"].first_name = "Audrey"
    users["auditor"].save()
    users["auditor"].save(update_fields=["last_login"])
    assert client.get(PAGE).status_code == 200


def test_signing_out_removes_the_session_from_the_index(client_for, users):
    client = client_for("auditor")
    assert UserSession.objects.filter(user=users["auditor"]).count() == 1
    client.post("/accounts/logout/")
    assert not UserSession.objects.filter(user=users["auditor"]).exists()


def test_it_reindexes_a_session_whose_key_changed(client_for, users):
    client = client_for("auditor")
    session = client.session
    session[sessions.INDEXED] = "an-old-key"
    session.save()
    assert client.get(PAGE).status_code == 200
    assert UserSession.objects.filter(session_key=client.session.session_key).exists()


def test_signing_in_prunes_index_rows_past_the_absolute_limit(client_for, users):
    from datetime import timedelta

    from django.utils import timezone

    UserSession.objects.create(user=users["auditor"], session_key="lapsed" * 5,
                               created_at=timezone.now() - timedelta(hours=13))
    client_for("auditor")
    assert UserSession.objects.filter(user=users["auditor"]).count() == 1  # the new one
    assert not UserSession.objects.filter(session_key="lapsed" * 5).exists()


def test_deactivating_in_django_admin_ends_the_users_sessions(client_for, users):
    victim = client_for("auditor")
    assert victim.get(PAGE).status_code == 200
    auditor = users["auditor"]
    form = {"username": auditor.username, "email": auditor.email, "first_name": "",
            "last_name": "", "groups": list(auditor.groups.values_list("pk", flat=True)),
            "date_joined_0": auditor.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": auditor.date_joined.strftime("%H:%M:%S")}  # is_active unticked
    response = client_for("admin").post(f"/admin/auth/user/{auditor.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    auditor.refresh_from_db()
    assert not auditor.is_active
    assert not UserSession.objects.filter(user=auditor).exists()
    assert victim.get(PAGE).status_code == 302


def test_an_expired_session_still_opens_pages_that_need_no_login(client_for):
    client = client_for("owner")
    age(client, idle=31 * 60)
    response = client.get("/review/an-unknown-token-for-the-problem-page/")
    assert response.status_code == 404  # the owner-link problem page, not a login redirect
    assert "_auth_user_id" not in client.session
    assert sessions.EXPIRED_MESSAGE not in client.get("/accounts/login/").content.decode()
