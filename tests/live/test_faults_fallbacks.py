"""What the portal does without Redis, in-process and fast (test_faults_redis.py runs the
same through real servers): the cache counts locally, "Run now" is kept in the database
for the dispatcher, a campaign's mail kick does not fail the request."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from kombu.exceptions import OperationalError

from inventory import discovery, tasks
from inventory.models import Source, SyncRun
from nhigov.lib.audit import Actor
from nhigov.lib.cache import FallbackRedisCache
from reviews import campaigns
from tests.inventory.discovery_helpers import fake_source_fixture  # noqa: F401
from tests.live.servers_vault import free_port

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def broker_down(*args, **kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_it_counts_in_the_process_while_redis_is_down(caplog):
    cache = FallbackRedisCache(f"redis://127.0.0.1:{free_port()}/0", {
        "KEY_PREFIX": "t", "OPTIONS": {"socket_connect_timeout": 0.5}})

    with caplog.at_level(logging.WARNING, logger="nhigov.lib.cache"):
        assert cache.add("hits", 1, 60) is True
        assert cache.incr("hits") == 2
        assert cache.add("hits", 1, 60) is False  # the local count holds: limits still bite
        assert cache.get("hits") == 2

    warnings = [r for r in caplog.records if r.name == "nhigov.lib.cache"]
    assert len(warnings) == 1  # once a minute, not once per call
    assert "counting in this process" in warnings[0].getMessage()


def test_it_keeps_a_run_requested_while_the_broker_is_down(fake_source, monkeypatch):
    source = fake_source(name="manual", schedule="")
    monkeypatch.setattr(tasks, "runs_in_process", lambda: False)
    monkeypatch.setattr(tasks.sync_source_task, "apply_async", broker_down)

    queued = tasks.queue_sync(source, Actor.system("test"))

    assert queued.deferred and queued.run is None and not queued.skipped
    assert not SyncRun.objects.exists()
    source.refresh_from_db()
    assert source.next_run_at is not None
    later = source.next_run_at + timedelta(seconds=1)
    assert discovery.due_sources(later) == [source]
    assert discovery.claim_due_sources(later) == [source]  # the dispatcher queues it once
    assert discovery.due_sources(later + timedelta(days=1)) == []
    assert Source.objects.get().next_run_at is None  # a manual source again


def test_it_runs_a_scheduled_source_early_when_its_run_was_deferred(fake_source):
    source = fake_source(name="hourly", schedule="0 * * * *")
    Source.objects.filter(pk=source.pk).update(next_run_at=NOW + timedelta(minutes=50))

    discovery.defer_run(source, NOW)

    assert [s.name for s in discovery.claim_due_sources(NOW)] == ["hourly"]
    assert Source.objects.get().next_run_at == NOW + timedelta(hours=1)  # back on schedule


@pytest.mark.django_db
def test_it_leaves_campaign_mail_to_the_mail_cycle_while_the_broker_is_down(monkeypatch,
                                                                             caplog):
    from reviews import tasks as review_tasks

    monkeypatch.setattr(review_tasks.send_campaign_mail, "delay", broker_down)

    campaigns._kick_mail(1)  # runs on commit of the campaign; must not raise

    assert "the mail cycle sends it" in caplog.text
