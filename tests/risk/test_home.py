"""The landing page: `/` and the page after sign-in send analysts, admins and auditors to
the dashboard and owners to the register, which lists only their identities."""

import pytest
from django.test import Client

from tests.factories import IdentityFactory
from tests.totp import fresh_totp_code

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("role", "landing"), [
    ("analyst", "/dashboard/"), ("admin", "/dashboard/"), ("auditor", "/dashboard/"),
    ("owner", "/identities/"),
])
def test_it_sends_each_role_to_its_landing_page(client_for, role, landing):
    response = client_for(role).get("/")
    assert response.status_code == 302 and response["Location"] == landing


@pytest.mark.parametrize(("role", "landing"), [("analyst", "/dashboard/"),
                                               ("owner", "/identities/")])
def test_it_lands_there_after_signing_in(users, role, landing):
    client = Client()
    response = client.post("/accounts/login/", {"login": f"{role}@example.test",
                                                "password": "correct-horse-battery"})
    if users[role].authenticator_set.exists():  # analysts: the second factor first
        response = client.post(response["Location"], {"code": fresh_totp_code(users[role])})
    assert response.status_code == 302 and response["Location"] == "/"  # LOGIN_REDIRECT_URL
    assert client.get("/")["Location"] == landing
    assert client.get(landing).status_code == 200


def test_the_owner_register_shows_only_their_identities(client_for, owner_person):
    mine = IdentityFactory(name="svc-mine", technical_owner=owner_person)
    IdentityFactory(name="svc-theirs")
    response = client_for("owner").get("/", follow=True)
    assert response.context["count"] == 1
    page = response.content.decode()
    assert mine.name in page and "svc-theirs" not in page
