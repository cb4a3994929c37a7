"""inventory.tasks: the sync task's summaries and skips, the dispatcher's once-only claims
(also under real concurrency on PostgreSQL), and the queue/check helpers."""

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery.exceptions import TimeoutError as ResultTimeout
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from inventory import discovery, tasks
from inventory.models import Identity, Source, SyncRun
from inventory.sync import SyncInProgress
from nhigov.lib.audit import Actor
from nhigov.models import AuditEvent
from tests.inventory.discovery_helpers import eager_fixture, fake_source_fixture  # noqa: F401

IS_PG = connection.vendor == "postgresql"


@pytest.fixture
def queued(monkeypatch) -> list:
    """Capture sync_source_task.delay calls instead of sending them to a broker."""
    calls: list = []
    monkeypatch.setattr(tasks.sync_source_task, "delay", lambda *args: calls.append(args))
    return calls


def due(fake_source, name="fake", **fields) -> Source:
    """A scheduled source whose planned run is an hour overdue."""
    source = fake_source(name=name, schedule="*/5 * * * *", **fields)
    Source.objects.filter(pk=source.pk).update(next_run_at=timezone.now() - timedelta(hours=1))
    return source


# --- sync_source_task --------------------------------------------------------------------


@pytest.mark.django_db
def test_it_runs_a_source_and_returns_a_summary(fake_source, eager):
    source = fake_source(count=3)

    summary = tasks.sync_source_task.delay(source.pk, "tester").get()

    run = SyncRun.objects.get()
    assert summary["status"] == "succeeded" and summary["run"] == str(run.code)
    assert (summary["seen"], summary["created"]) == (3, 3)
    assert Identity.objects.count() == 3


@pytest.mark.django_db
def test_it_skips_when_another_run_holds_the_lock(fake_source, monkeypatch):
    source = fake_source()

    def locked(source, triggered_by):
        raise SyncInProgress("busy")

    monkeypatch.setattr(discovery, "run_source", locked)

    assert tasks.sync_source_task(source.pk, "tester") == {
        "source": "fake", "status": "skipped: run in progress"}


@pytest.mark.django_db
def test_it_skips_deleted_sources_and_scheduled_runs_of_disabled_ones(fake_source):
    source = fake_source(enabled=False)

    assert tasks.sync_source_task(source.pk + 1000, "tester")["status"].startswith("skipped")
    assert tasks.sync_source_task(source.pk, "schedule")["status"] == "skipped: source disabled"
    assert not SyncRun.objects.exists()
    # A person may still run a disabled source by hand.
    assert tasks.sync_source_task(source.pk, "admin@example.test")["status"] == "succeeded"


@pytest.mark.skipif(not IS_PG, reason="the per-source lock exists on PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_it_skips_a_source_locked_by_another_session(fake_source):
    source = fake_source()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [0x6E686973, source.pk])
        summary = tasks.sync_source_task(source.pk, "tester")
    finally:
        other.close()

    assert summary["status"] == "skipped: run in progress"
    assert not SyncRun.objects.exists()


# --- dispatch_due_syncs ------------------------------------------------------------------


@pytest.mark.django_db
def test_it_queues_due_sources_once(fake_source, queued):
    source = due(fake_source)
    fake_source(name="manual")
    due(fake_source, name="off", enabled=False)

    first = tasks.dispatch_due_syncs()
    second = tasks.dispatch_due_syncs()

    assert first == {"queued": ["fake"], "failed": []}
    assert second == {"queued": [], "failed": []}
    assert queued == [(source.pk, "schedule")]
    assert Source.objects.get(pk=source.pk).next_run_at > timezone.now()


@pytest.mark.django_db
def test_it_queues_once_when_two_dispatches_overlap(fake_source, queued, monkeypatch):
    """Dispatch A reads the due sources; dispatch B runs from start to end; A claims."""
    source = due(fake_source)
    real, overlapped, started = discovery.due_sources, [], []

    def read_then_let_the_other_run(now):
        found = real(now)
        if not started:
            started.append(True)
            overlapped.append(tasks.dispatch_due_syncs())  # B, inside A
        return found

    monkeypatch.setattr(discovery, "due_sources", read_then_let_the_other_run)

    outer = tasks.dispatch_due_syncs()

    assert overlapped == [{"queued": ["fake"], "failed": []}]
    assert outer == {"queued": [], "failed": []}
    assert queued == [(source.pk, "schedule")]


@pytest.mark.skipif(not IS_PG, reason="real concurrent transactions need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_it_queues_once_when_dispatches_run_concurrently(fake_source, queued, monkeypatch):
    """Four dispatchers in four threads (four database sessions) read the same due sources
    at the same moment, then race to claim them: each source is queued exactly once."""
    sources = [due(fake_source, name=f"fake-{n}") for n in range(3)]
    real, barrier = discovery.due_sources, threading.Barrier(4, timeout=30)
    results, errors = [], []

    def read_together(now):
        found = real(now)
        barrier.wait()  # everyone has read before anyone claims
        return found

    def dispatcher():
        try:
            results.append(tasks.dispatch_due_syncs())
        except Exception as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    monkeypatch.setattr(discovery, "due_sources", read_together)
    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sorted(queued) == sorted((s.pk, "schedule") for s in sources)
    assert sorted(name for r in results for name in r["queued"]) == ["fake-0", "fake-1", "fake-2"]


@pytest.mark.django_db
def test_it_reports_a_source_it_could_not_queue_and_goes_on(fake_source, monkeypatch):
    due(fake_source, name="a")
    due(fake_source, name="b")
    calls = []

    def flaky(source_id, trigger):
        calls.append(source_id)
        if len(calls) == 1:
            raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.sync_source_task, "delay", flaky)

    assert tasks.dispatch_due_syncs() == {"queued": ["b"], "failed": ["a"]}


def test_it_schedules_the_dispatcher_every_minute_in_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["dispatch-due-syncs"]
    assert entry["task"] == "inventory.tasks.dispatch_due_syncs"
    assert entry["task"] in tasks.dispatch_due_syncs.app.tasks
    assert entry["schedule"] == 60.0
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] >= 3600


# --- queue_sync and check_source ---------------------------------------------------------


@pytest.mark.django_db
def test_it_queues_and_audits_a_run_request(fake_source, users, eager):
    source = fake_source(count=2)

    queued = tasks.queue_sync(source, Actor.for_user(users["analyst"]))

    assert queued.run.status == "succeeded" and queued.run.triggered_by == "analyst@example.test"
    event = AuditEvent.objects.get(action="source.sync_requested")
    assert event.after == {"task": queued.task_id}
    # The request comes before the run's own events in the chain.
    assert event.id < AuditEvent.objects.get(action="sync_run.finished").id


@pytest.mark.django_db
def test_it_returns_only_the_task_id_when_a_worker_will_run_it(fake_source, users, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks, "runs_in_process", lambda: False)
    monkeypatch.setattr(tasks.sync_source_task, "apply_async",
                        lambda args, task_id: sent.append((args, task_id)))

    queued = tasks.queue_sync(fake_source(), Actor.for_user(users["admin"]))

    assert queued.run is None and not queued.skipped
    assert sent == [((Source.objects.get().pk, "admin@example.test"), queued.task_id)]


@pytest.mark.django_db
def test_it_checks_a_source_on_a_worker(fake_source, eager):
    result = tasks.check_source(fake_source(count=4))

    assert result.ok and "4 identities" in result.summary


@pytest.mark.django_db
def test_it_says_so_when_no_worker_answers_a_check(fake_source, monkeypatch, settings):
    settings.SOURCE_CHECK_TIMEOUT = 2

    def never(timeout):
        raise ResultTimeout("no answer")

    monkeypatch.setattr(tasks.check_source_task, "apply_async",
                        lambda args, expires: SimpleNamespace(get=never))

    result = tasks.check_source(fake_source())

    assert (result.ok, result.error_kind) == (False, "no_worker")
    assert "No worker answered within 2 s" in result.summary
