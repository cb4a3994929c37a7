"""A real Celery worker process on Redis runs syncs end to end, and a worker killed in
the middle of a run is replaced by one that finishes the redelivered task.

Needs PostgreSQL and Redis (DATABASE_URL=postgresql://..., REDIS_URL=redis://...): the
worker is a separate process that must share the test database and the broker. Each
test's worker listens on a queue of its own, so nothing else consumes its messages.

What a killed run leaves, and why it converges (see inventory.sync and inventory.tasks):
the task acknowledges late, so Redis redelivers it once the visibility timeout passed;
the dead worker's database session ended with the process, releasing the source's
advisory lock; the new run finds the dead run still `running`, marks it failed
("Interrupted"), and upserts every record again. Batches the dead run committed are
found unchanged, so the register ends exactly as after one clean run: no duplicates,
nothing marked missing by the dead run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from inventory import tasks
from inventory.models import Credential, Identity, Source, SyncRun
from tests.live import fake_connector

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="needs DATABASE_URL=postgresql://... and REDIS_URL: the worker is another "
               "process sharing the test database and the broker"),
    pytest.mark.django_db(transaction=True),
]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)


def worker_database_url() -> str:
    """The URL of the database this test runs against (pytest-django's test copy)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Workers:
    """Starts `celery worker` processes on one queue of its own; stops them at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.queue = f"nhigov-test-{uuid.uuid4().hex[:10]}"
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, **env: str) -> subprocess.Popen:
        environ = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.live.worker_settings",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "NHIGOV_EXTRA_CONNECTORS": fake_connector.__name__,
            "PYTHONPATH": str(ROOT),
            **env,
        }
        log = self.log_dir / f"worker-{len(self.procs)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "nhigov", "worker", "-P", "solo",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-Q", self.queue, "-n", f"{self.queue}-{len(self.procs)}@%h", "-l", "INFO"],
            cwd=ROOT, env=environ, stdout=log.open("w"), stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.log_dir.glob("worker-*.log")))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        redis.Redis.from_url(settings.REDIS_URL).delete(self.queue)


@pytest.fixture
def workers(transactional_db, tmp_path):
    # Depends on transactional_db so that the workers stop before the database is flushed.
    started = Workers(tmp_path)
    yield started
    started.stop()


@pytest.fixture
def source():
    def make(name: str, count: int, **config) -> Source:
        return Source.objects.create(name=name, kind=fake_connector.KIND,
                                     config={"count": count, **config})

    return make


def test_it_runs_a_sync_on_a_real_worker(workers, source):
    fake = source("live-fake", 12)
    workers.start()

    result = tasks.sync_source_task.apply_async((fake.pk, "live-test"), queue=workers.queue)
    summary = result.get(timeout=120)

    assert summary["status"] == "succeeded", workers.logs()
    run = SyncRun.objects.get(source=fake)
    assert summary["run"] == str(run.code)
    assert (run.status, run.seen, run.created, run.triggered_by) == (
        "succeeded", 12, 12, "live-test")
    assert Identity.objects.filter(source=fake).count() == 12
    assert Credential.objects.filter(identity__source=fake).count() == 12


def test_it_finishes_a_run_on_a_new_worker_after_one_is_killed(workers, source, tmp_path):
    slow = tmp_path / "slow"
    slow.touch()  # the connector sleeps between records while this file exists
    total = 40
    fake = source("live-slow", total, sleep=0.25, sleep_while=str(slow))
    env = {"CELERY_VISIBILITY_TIMEOUT": "3", "NHIGOV_TEST_SYNC_BATCH": "5"}
    first = workers.start(**env)

    result = tasks.sync_source_task.apply_async((fake.pk, "live-kill"), queue=workers.queue)
    wait_for(lambda: SyncRun.objects.filter(source=fake, status="running", seen__gte=10)
             .exists(), 120, "the first worker to commit two batches")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    written = Identity.objects.filter(source=fake).count()
    assert 10 <= written < total
    slow.unlink()  # the redelivered run goes fast, well inside the visibility timeout
    workers.start(**env)

    summary = result.get(timeout=120)  # the same task id, now run by the second worker

    assert summary["status"] == "succeeded", workers.logs()
    runs = list(SyncRun.objects.filter(source=fake).order_by("started_at"))
    dead, done = runs[0], SyncRun.objects.get(code=summary["run"])
    assert dead.status == "failed" and dead.error.startswith("Interrupted"), dead.error
    assert dead.finished_at is not None
    assert (done.seen, done.created + done.unchanged, done.updated, done.missing) == (
        total, total, 0, 0)
    assert done.unchanged == written
    assert not SyncRun.objects.filter(source=fake, status="running").exists()
    # Any further delivery (a redelivery racing the ack) found nothing left to write.
    assert all(r.status == "succeeded" and r.created == 0 for r in runs[2:])
    names = list(Identity.objects.filter(source=fake).values_list("external_id", flat=True))
    assert len(names) == len(set(names)) == total
    assert set(Identity.objects.filter(source=fake).values_list("status", flat=True)) == {
        "active"}
