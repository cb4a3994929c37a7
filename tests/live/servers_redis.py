"""A private redis-server for fault tests: a free loopback port, no persistence, stopped
and started again at will (never the shared server on 6379)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.live.servers_vault import free_port


class PrivateRedis:
    """`start()`, `stop()` (SIGKILL: an outage, not a clean shutdown), `url(db)`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        log = (self.folder / "redis.log").open("a")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(name="private_redis")
def private_redis_fixture(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()
