"""Shared fixtures: one fixed user per role, and clients logged in as each."""

import pytest
from django.test import Client

from tests.factories import PersonFactory, UserFactory

ROLES = ("admin", "analyst", "auditor", "owner")


@pytest.fixture
def users(db) -> dict:
    """One user per role; the owner user is linked to a Person so ownership can apply."""
    made = {role: UserFactory(username=f"{role}@example.test", role=role) for role in ROLES}
    PersonFactory(email="owner@example.test", name="Olive Owner", user=made["owner"])
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
