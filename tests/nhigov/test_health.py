"""/healthz/ answers load balancers and the container health check without a login."""

import pytest
from django.db import DatabaseError
from django.test import Client


@pytest.mark.django_db
def test_it_answers_without_a_login_and_is_never_cached():
    response = Client().get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_is_exempt_from_the_https_redirect(settings):
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz/").status_code == 200
    assert Client().get("/accounts/login/").status_code == 301


@pytest.mark.django_db
def test_it_says_unavailable_when_the_database_does_not_answer(monkeypatch):
    from nhigov import health

    def broken_cursor():
        raise DatabaseError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)
    response = Client().get("/healthz/")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_it_only_accepts_get():
    assert Client().post("/healthz/").status_code == 405
