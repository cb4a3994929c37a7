"""Shared fixtures: one fixed user per role, and clients logged in as each."""

import pytest
from django.test import Client

from tests.factories import PersonFactory, UserFactory
from tests.totp import give_totp

ROLES = ("admin", "analyst", "auditor", "owner")


@pytest.fixture
def users(db) -> dict:
    """One user per role; the owner user is linked to a Person so ownership can apply."""
    made = {role: UserFactory(username=f"{role}@example.test", role=role) for role in ROLES}
    PersonFactory(email="owner@example.test", name="Olive Owner", user=made["owner"])
    # Admins and analysts must have a second factor (nhigov.lib.mfa): give them a TOTP app
    # so every test runs with the requirement on (codes: tests.totp.fresh_totp_code).
    for role in ("admin", "analyst"):
        if not made[role].authenticator_set.filter(type="totp").exists():
            give_totp(made[role])
    return made


@pytest.fixture
def client_for(users):
    """client_for("analyst") -> a Django test client logged in as that role."""

    def make(role: str) -> Client:
        client = Client()
        client.force_login(users[role])
        return client

    return make


@pytest.fixture
def api_token(users):
    """api_token("auditor", scope="read") -> a live personal API token (the secret) of that
    role's user, or of any user passed instead of a role; created without an audit event."""
    import secrets
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from nhigov.lib import tokens
    from nhigov.models import ApiToken

    def make(who, scope: str = "write") -> str:
        raw = tokens.TOKEN_START + secrets.token_urlsafe(32)
        now = timezone.now()
        ApiToken.objects.create(
            code=uuid.uuid4(), user=users[who] if isinstance(who, str) else who, name="test",
            prefix=raw[: tokens.PREFIX_LENGTH], digest=tokens.digest(raw), scope=scope,
            created_at=now, expires_at=now + timedelta(days=30))
        return raw

    return make


@pytest.fixture
def owner_person(users):
    return users["owner"].person


@pytest.fixture
def eager_celery():
    """Run Celery tasks in-process even when REDIS_URL is set (the PostgreSQL + Redis CI
    run): such tests exercise the task code, not a broker, and no worker listens there."""
    from nhigov.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def own_rate_limits(settings):
    """A process-local cache for this test: failed attempts count per address in the cache,
    so other tests' failures cannot throttle this one (never clear() a shared Redis)."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "nhigov-auth-tests"}}
    cache.clear()
    yield
    cache.clear()
