"""Redis stopped under a running portal: pages keep serving, and a run started meanwhile
is not lost: it runs once Redis is back, once.

Redis is the cache (rate-limit counters) and the Celery broker. What each does without it
(see nhigov.lib.cache and inventory.tasks.queue_sync):
* the cache falls back to counting in each process: sign-in, the API and owner links
  keep answering, with their limits per process;
* "Run now" cannot reach the broker: the request is kept in PostgreSQL (the source is
  made due now) and answered 202; beat's dispatcher queues it when Redis returns, and
  the claim on `next_run_at` makes it run once, however many dispatches follow.
(Review emails are Delivery rows in PostgreSQL, sent by beat's mail cycle: an outage
delays them, and queueing the immediate send no longer fails the request.)

The servers are private: PostgreSQL (servers_pg.py) and Redis (servers_redis.py).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from tests.live.servers_pg import (  # noqa: F401 - the *_fixture are pytest fixtures
    ROOT,
    Gunicorn,
    django_env,
    fresh_database,
    migrated_fixture,
    private_postgres_fixture,
    seed,
)
from tests.live.servers_redis import private_redis_fixture  # noqa: F401

SOURCE = "redis-fake"
COUNT = 5


def celery(env: dict, log, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "nhigov", *args],
                            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_it_serves_pages_and_keeps_a_run_while_redis_is_down(migrated, private_redis,
                                                               tmp_path):
    url = fresh_database(migrated, "faults_redis")
    env = django_env(url, private_redis.url(0), NHIGOV_DISPATCH_SECONDS="1",
                     CELERY_VISIBILITY_TIMEOUT="60")
    token = seed(env, SOURCE, {"count": COUNT})
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    web = Gunicorn(env, tmp_path / "gunicorn.log")

    def query(sql: str) -> str:
        return migrated.query("faults_redis", sql)

    workers: list[subprocess.Popen] = []
    try:
        web.wait_ready(api)
        private_redis.stop()

        # Pages and the API keep answering; the rate-limited ones too.
        browser = requests.Session()
        login = browser.get(f"{web.url}/accounts/login/", timeout=20)
        assert login.status_code == 200
        refused = browser.post(f"{web.url}/accounts/login/", timeout=20, data={
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            "login": "nobody@faults.test", "password": "wrong-password"})
        assert refused.status_code == 200 and "form" in refused.text
        assert api.get(f"{web.url}/api/v1/people/", timeout=20).status_code == 200
        assert requests.get(f"{web.url}/api/v1/people/", timeout=20).status_code in (401, 403)
        assert browser.get(f"{web.url}/review/{'x' * 43}/", timeout=20).status_code == 404

        # "Run now": accepted, and kept in the database rather than lost with the broker.
        code = query("SELECT code FROM inventory_source")  # the only one
        started = api.post(f"{web.url}/api/v1/sources/{code}/sync/", timeout=30)
        assert started.status_code == 202, (started.text, web.log.read_text()[-3000:])
        assert query("SELECT count(*) FROM inventory_syncrun") == "0"
        assert query("SELECT next_run_at IS NOT NULL FROM inventory_source") == "t"

        # Redis returns: beat's dispatcher queues the deferred run, a worker runs it.
        private_redis.start()
        workers.append(celery(env, tmp_path / "worker.log", "worker", "-P", "solo",
                              "--without-gossip", "--without-mingle", "--without-heartbeat",
                              "-l", "INFO"))
        workers.append(celery(env, tmp_path / "beat.log", "beat", "-l", "INFO", "--schedule",
                              str(tmp_path / "beat-schedule")))
        deadline = time.monotonic() + 60
        while query("SELECT count(*) FROM inventory_syncrun WHERE status = 'succeeded'") != "1":
            if time.monotonic() > deadline:
                pytest.fail("the deferred run did not run:\n"
                            + (tmp_path / "worker.log").read_text()[-3000:]
                            + (tmp_path / "beat.log").read_text()[-2000:])
            time.sleep(0.5)
        time.sleep(3)  # three more dispatches: none may queue the run again
    finally:
        stop(*workers)
        web.stop()

    runs = query("SELECT status, seen, created, missing, triggered_by FROM inventory_syncrun")
    assert runs.split("\t")[:4] == ["succeeded", str(COUNT), str(COUNT), "0"], runs
    assert len(runs.splitlines()) == 1, runs
    assert query("SELECT count(*), count(DISTINCT external_id) FROM inventory_identity"
                 ) == f"{COUNT}\t{COUNT}"
    assert query("SELECT next_run_at IS NULL FROM inventory_source") == "t"
