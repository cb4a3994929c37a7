"""The demo's second factors: fixed TOTP secret and recovery codes that really sign in."""

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client

from nhigov.lib.mfa_demo import demo_secret, enrol_demo_user
from tests.factories import UserFactory
from tests.totp import fresh_totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_rate_limits(own_rate_limits):
    """Failed sign-ins are counted per address: each test counts in a cache of its own."""


def password_step(client: Client, user) -> None:
    response = client.post("/accounts/login/", {"login": user.email,
                                                "password": "correct-horse-battery"})
    assert response["Location"] == "/accounts/2fa/authenticate/"


def test_it_gives_a_fixed_secret_and_recovery_codes_that_sign_in():
    user = UserFactory(username="analyst@demo.nhigov.test", role="analyst")
    factor = enrol_demo_user(user)
    assert factor.secret == demo_secret(user.email) == enrol_demo_user(user).secret
    assert factor.uri.startswith("otpauth://totp/nhigov:analyst%40demo.nhigov.test?secret=")
    assert Authenticator.objects.filter(user=user).count() == 2  # reset, not piled up

    client = Client()
    password_step(client, user)
    client.post("/accounts/2fa/authenticate/", {"code": fresh_totp_code(user, factor.secret)})
    assert client.get("/identities/").status_code == 200

    other = Client()
    password_step(other, user)
    other.post("/accounts/2fa/authenticate/", {"code": factor.recovery_codes[0]})
    assert other.get("/identities/").status_code == 200
