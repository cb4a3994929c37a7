"""`test-fake`: a tiny connector for tests of discovery, tasks and real Celery workers.

Imported by the tests, and by worker processes through NHIGOV_EXTRA_CONNECTORS (see
inventory.connectors.load_all). It yields `count` IAM-user-like records named
`<prefix>-<n>`, optionally sleeping between records while a flag file exists (so a test
can kill a worker mid-run, then let the redelivered run go fast), and optionally fails.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from inventory.connectors.base import (
    BadConfig,
    CheckResult,
    Connector,
    CredentialRecord,
    IdentityRecord,
    Param,
    Unreachable,
    register,
)

KIND = "test-fake"
MODULE = __name__


@register
class FakeConnector(Connector):
    """Yields made-up identities; configured entirely by its (non-secret) config."""

    name = KIND
    title = "Test fake"
    params = [
        Param("count", "How many identities to report.", required=True),
        Param("prefix", "Name prefix of the identities.", default="fake"),
        Param("sleep", "Seconds to sleep before each record.", default=0),
        Param("sleep_while", "Sleep only while this file exists (empty: always).", default=""),
        Param("fail_after", "Raise Unreachable after this many records (-1: never).",
              default=-1),
        Param("unreachable", "check() reports the source unreachable.", default=False),
    ]
    auth = "None: the test connector reads nothing."

    @classmethod
    def validate(cls, config: dict) -> dict:
        values = super().validate(config)
        if not isinstance(values["count"], int) or values["count"] < 0:
            raise BadConfig("Test fake: 'count' must be a whole number of at least 0")
        return values

    def check(self) -> CheckResult:
        if self.config["unreachable"]:
            raise Unreachable("Test fake: cannot reach fake.invalid:443 (connection refused)")
        return CheckResult(ok=True, summary=f"Test fake: would report {self.config['count']} "
                                            "identities", details={"as": "tester"})

    def read(self) -> Iterator[IdentityRecord]:
        for n in range(self.config["count"]):
            if n == self.config["fail_after"]:
                raise Unreachable(f"Test fake: connection lost after {n} records")
            self._pause()
            yield record(self.config["prefix"], n)

    def _pause(self) -> None:
        flag = self.config["sleep_while"]
        if self.config["sleep"] and (not flag or os.path.exists(flag)):
            time.sleep(float(self.config["sleep"]))


def record(prefix: str, n: int) -> IdentityRecord:
    """The record the connector reports as number `n`."""
    return IdentityRecord(
        external_id=f"fake:{prefix}-{n}", provider="other", kind="service_account",
        name=f"{prefix}-{n}", environment="test", privilege="read",
        auth_method="static_secret",
        credentials=[CredentialRecord("api_key", f"key-{prefix}-{n}")],
    )

