"""Anonymous visitors see only the login page; sign-in is email and password."""

import pytest
from django.test import Client

from tests.totp import fresh_totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_rate_limits(own_rate_limits):
    """Failed sign-ins are counted per address: each test counts in a cache of its own."""

PAGES = ["/", "/identities/", "/sources/", "/teams/", "/people/", "/import/",
         "/identities/export.csv"]


@pytest.mark.parametrize("url", PAGES)
def test_it_sends_anonymous_visitors_to_the_login_page(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_anonymous_api_calls():
    assert Client().get("/api/v1/identities/").status_code in (401, 403)


def test_it_signs_in_with_email_and_password(users):
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"Sign in" in page.content
    response = client.post("/accounts/login/", {"login": "owner@example.test",
                                                "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get("/identities/").status_code == 200


def test_it_asks_an_analyst_for_the_authenticator_code_after_the_password(users):
    client = Client()
    response = client.post("/accounts/login/", {"login": "analyst@example.test",
                                                "password": "correct-horse-battery"})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/identities/").status_code == 302  # not signed in yet
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and "code" in wrong.context["form"].errors
    code = fresh_totp_code(users["analyst"])
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert client.get("/identities/").status_code == 200


def test_it_gives_the_same_answer_for_unknown_accounts_and_wrong_passwords(users):
    wrong = Client().post("/accounts/login/", {"login": "analyst@example.test",
                                               "password": "nope-nope-nope"})
    unknown = Client().post("/accounts/login/", {"login": "nobody@example.test",
                                                 "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()


def test_it_offers_no_self_sign_up():
    response = Client().get("/accounts/signup/")
    assert response.status_code in (200, 302, 403)
    assert b'name="password1"' not in response.content


def test_it_tags_every_response_with_a_request_id(client_for):
    response = client_for("analyst").get("/identities/", HTTP_X_REQUEST_ID="trace-12345678")
    assert response["X-Request-ID"] == "trace-12345678"
    assert len(client_for("analyst").get("/identities/")["X-Request-ID"]) == 32


def test_it_sends_django_admins_login_form_to_the_portal_sign_in(users):
    client = Client()
    response = client.get("/admin/login/?next=/admin/inventory/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Finventory%2F"
    assert client.get("/admin/login/?next=https://evil.example/")["Location"] == (
        "/accounts/login/?next=%2Fadmin%2F")
    # A password alone, posted to the admin's old form, signs nobody in.
    client.post("/admin/login/", {"username": "admin@example.test",
                                  "password": "correct-horse-battery"})
    assert "_auth_user_id" not in client.session
    chain = client.get("/admin/", follow=True).redirect_chain
    assert chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
