"""A private PostgreSQL server for fault tests: initdb into a temporary folder, started on
a free loopback port with its socket in that folder, restarted or stopped at will.

Never the shared server on 5432: other engineers and CI use it. initdb refuses to run as
root, so when the tests run as root the cluster belongs to the `postgres` system user and
every server command runs through `runuser -u postgres`.

Also the helpers the fault tests share: a Django process (server, command or script)
pointed at a given database and broker, and the script that seeds a user, an API token
and a source into a fresh database.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.live import fake_connector
from tests.live.servers_vault import free_port

ROOT = Path(__file__).resolve().parents[2]
_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder, if any."""
    return Path(_BIN[-1]) if _BIN and (Path(_BIN[-1]) / "initdb").exists() else None


class PrivatePostgres:
    """One throw-away cluster: `start()`, `stop()`, `restart()`, `url(name)`."""

    def __init__(self, folder: Path) -> None:
        self.bin = postgres_bin()
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.log = folder / "postgres.log"
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if check and done.returncode:
            raise AssertionError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
        return done

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        # fsync off: a test cluster, thrown away, and an immediate stop is a crash of the
        # server, not of the machine (the OS keeps what was written). synchronous_commit
        # stays on: off, a commit acknowledged just before the stop can be lost.
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop (closing every session, as a crash or failover would), wait, start again."""
        self.stop("immediate")
        time.sleep(down_for)
        self.start()

    def is_up(self) -> bool:
        return self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port),
                         check=False).returncode == 0

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def query(self, database: str, sql: str) -> str:
        """One value (or rows, tab-separated) through psql: the test process keeps its own
        Django connection on the shared server."""
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-d", database, "-AtX", "-F", "\t", "-c", sql).stdout.strip()


@pytest.fixture(scope="module", name="private_postgres")
def private_postgres_fixture():
    if postgres_bin() is None:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    # Not under pytest's tmp folder: as root that is private to root, and the cluster's
    # owner (postgres) could not reach it.
    folder = Path(tempfile.mkdtemp(prefix="nhigov-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = PrivatePostgres(folder / "cluster")
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


def django_env(database_url: str, redis_url: str = "", **extra: str) -> dict:
    """The environment of a Django process on the given database and broker (none: tasks
    run in-process), with the test settings and the test connector."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DATABASE_URL": database_url, "NHIGOV_EXTRA_CONNECTORS": fake_connector.__name__,
           "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "DEBUG": "0", **extra}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def manage(env: dict, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


SEED_SCRIPT = """
import secrets, sys, uuid
from datetime import timedelta
import django
django.setup()
from django.utils import timezone
from inventory.models import Source
from nhigov.lib import tokens
from nhigov.models import ApiToken
from tests.factories import UserFactory
user = UserFactory(username="analyst@faults.test", email="analyst@faults.test", role="analyst")
raw = tokens.TOKEN_START + secrets.token_urlsafe(32)
now = timezone.now()
ApiToken.objects.create(code=uuid.uuid4(), user=user, name="faults", scope="write",
    prefix=raw[: tokens.PREFIX_LENGTH], digest=tokens.digest(raw), created_at=now,
    expires_at=now + timedelta(days=1))
Source.objects.create(name=sys.argv[1], kind="test-fake", config=eval(sys.argv[2]))
print(raw)
"""


def seed(env: dict, source_name: str, config: dict) -> str:
    """Create an analyst with a write API token (returned) and a test-fake source."""
    done = subprocess.run([sys.executable, "-c", SEED_SCRIPT, source_name, repr(config)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


TEMPLATE = "faults_template"


@pytest.fixture(scope="module", name="migrated")
def migrated_fixture(private_postgres):
    """The private server with a migrated template database; each test copies it
    (fresh_database) in a moment instead of migrating again."""
    private_postgres.create_database(TEMPLATE)
    done = manage(django_env(private_postgres.url(TEMPLATE)), "migrate", "--noinput")
    assert done.returncode == 0, done.stderr[-3000:]
    return private_postgres


def fresh_database(server: PrivatePostgres, name: str) -> str:
    server.query("postgres", f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    return server.url(name)


class Gunicorn:
    """The portal as in production: gunicorn, one sync worker (one kept connection)."""

    def __init__(self, env: dict, log) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "nhigov.wsgi:application", "--workers", "1",
             "--bind", f"127.0.0.1:{self.port}", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)

    def wait_ready(self, session: requests.Session) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                # Generous: the first request imports the app, on a machine shared by many.
                session.get(f"{self.url}/api/v1/people/", timeout=30)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        pytest.fail(f"gunicorn did not answer:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
