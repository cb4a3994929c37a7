"""PostgreSQL restarted under a running portal: requests recover by themselves, and a sync
cut off mid-run fails cleanly and the next run ends with exactly the expected register.

The server is a private cluster (servers_pg.py), never the shared one. It is stopped with
`pg_ctl -m immediate` (every session killed, as in a crash or a failover) and started
again a second later.

Why requests recover: DATABASE_URL sets CONN_MAX_AGE=60 with CONN_HEALTH_CHECKS, so a web
process keeps its connection between requests and checks it at the start of the next
one; a connection the restart killed is replaced before the view runs. The web process
is gunicorn with one sync worker: one persistent connection, the case that would fail
without the health check.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import requests

from tests.live.servers_pg import (  # noqa: F401 - the *_fixture are pytest fixtures
    ROOT,
    Gunicorn,
    django_env,
    fresh_database,
    manage,
    migrated_fixture,
    private_postgres_fixture,
    seed,
)

SOURCE = "pg-fake"


class Writer(threading.Thread):
    """Creates people one by one through the API until stopped; remembers each answer."""

    def __init__(self, session: requests.Session, url: str) -> None:
        super().__init__(daemon=True)
        self.session, self.url = session, url
        self.answers: list[tuple[float, str, int]] = []  # (sent at, email, status)
        self.done = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.done.is_set():
            email, sent = f"p{n}@faults.test", time.monotonic()
            try:
                status = self.session.post(f"{self.url}/api/v1/people/", timeout=20, json={
                    "email": email, "name": f"Person {n}", "reason": "fault test"}).status_code
            except requests.RequestException:
                status = 0
            self.answers.append((sent, email, status))
            n += 1
            time.sleep(0.05)


def test_it_serves_requests_again_after_postgres_restarts(migrated, tmp_path):
    url = fresh_database(migrated, "faults_requests")
    env = django_env(url)
    token = seed(env, SOURCE, {"count": 3})
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    web = Gunicorn(env, tmp_path / "gunicorn.log")
    try:
        web.wait_ready(session)
        assert session.get(f"{web.url}/api/v1/people/", timeout=30).status_code == 200
        writer = Writer(session, web.url)
        writer.start()
        while len(writer.answers) < 5:
            time.sleep(0.05)

        migrated.restart(down_for=1.0)
        back = time.monotonic()
        while len([a for a in writer.answers if a[0] > back]) < 10:
            assert writer.is_alive()
            time.sleep(0.05)
        writer.done.set()
        writer.join(30)
        after = session.get(f"{web.url}/api/v1/people/", timeout=30)
    finally:
        web.stop()

    # The restart did hit requests (they failed while the server was down) ...
    assert any(status != 201 for sent, _, status in writer.answers if sent < back)
    # ... and every request sent once it was back succeeded: no operator, no restart.
    late = [status for sent, _, status in writer.answers if sent > back]
    assert late and set(late) == {201}, (late, web.log.read_text()[-3000:])
    assert after.status_code == 200
    # Nothing lost, nothing duplicated: every acknowledged person is stored, once, and a
    # refused request left nothing behind unless its commit had gone through.
    stored = migrated.query("faults_requests",
                            "SELECT email FROM ownership_person WHERE email LIKE 'p%'").split()
    acknowledged = {email for _, email, status in writer.answers if status == 201}
    assert len(stored) == len(set(stored))
    assert acknowledged <= set(stored) <= {email for _, email, _ in writer.answers}


def test_it_converges_when_postgres_restarts_during_a_sync(migrated, tmp_path):
    url = fresh_database(migrated, "faults_sync")
    slow = tmp_path / "slow"
    slow.touch()  # the connector sleeps between records while this file exists
    total = 40
    env = django_env(url, SYNC_BATCH_SIZE="5")
    seed(env, SOURCE, {"count": total, "sleep": 0.1, "sleep_while": str(slow)})

    def runs() -> list[list[str]]:
        out = migrated.query("faults_sync", "SELECT status, seen, created, unchanged, missing"
                                            " FROM inventory_syncrun ORDER BY started_at")
        return [line.split("\t") for line in out.splitlines()]

    first = subprocess.Popen([sys.executable, "manage.py", "sync_source", SOURCE], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    deadline = time.monotonic() + 60
    while not (runs() and int(runs()[0][1]) >= 10):
        assert time.monotonic() < deadline and first.poll() is None, first.communicate()
        time.sleep(0.2)
    migrated.restart(down_for=1.0)
    slow.unlink()
    output, _ = first.communicate(timeout=60)

    # Cut off: the run could not write its end (its row stays 'running') or recorded the
    # failure; either way the process stopped with an error, nothing marked missing.
    assert first.returncode == 1, output
    assert migrated.query("faults_sync", "SELECT count(*) FROM inventory_identity "
                                         "WHERE status <> 'active'") == "0"

    again = manage(env, "sync_source", SOURCE)

    assert again.returncode == 0, again.stdout + again.stderr
    history = runs()
    dead, done = history[0], history[-1]
    assert dead[0] == "failed", history  # marked Interrupted by the next run if need be
    assert done[0] == "succeeded" and int(done[1]) == total and done[4] == "0", history
    assert int(done[2]) + int(done[3]) == total
    rows = migrated.query("faults_sync", "SELECT count(*), count(DISTINCT external_id), "
                                         "count(*) FILTER (WHERE status = 'active') "
                                         "FROM inventory_identity").split("\t")
    assert rows == [str(total)] * 3
    creds = migrated.query("faults_sync", "SELECT count(*), count(DISTINCT external_id) "
                                          "FROM inventory_credential").split("\t")
    assert creds == [str(total)] * 2
    assert "running" not in {run[0] for run in runs()}
