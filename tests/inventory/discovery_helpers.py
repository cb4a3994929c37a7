"""Fixtures shared by the discovery tests: the `test-fake` connector and in-process tasks.

Import the `*_fixture` functions into a test module; pytest finds them by their names.
"""

from __future__ import annotations

import pytest

from inventory.models import Source
from nhigov.celery import app
from tests.live import fake_connector


@pytest.fixture(name="eager")
def eager_fixture():
    """Run Celery tasks in-process even when REDIS_URL is set (the PostgreSQL+Redis CI
    run): these tests exercise the code paths, not a broker, and no worker listens."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(name="fake_source")
def fake_source_fixture(db):
    """fake_source(name="fake", count=3, **config) -> a saved `test-fake` source."""

    def make(name: str = "fake", count: int = 3, **fields) -> Source:
        config = {"count": count, **fields.pop("config", {})}
        return Source.objects.create(name=name, kind=fake_connector.KIND, config=config,
                                     **fields)

    return make
