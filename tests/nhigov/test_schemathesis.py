"""Schemathesis over every operation of /api/v1/schema/, in-process through WSGI.

Run as an analyst (reads and writes) and as an owner (reads and acts inside their own
scope only), each with a personal API token (write scope), with valid (positive) and
invalid (negative) input: no response may be a server error (5xx), and every documented
response must match its schema. The run is bounded and reproducible: few examples per
operation, derandomized, no example database on disk.

schemathesis's pytest integration (`from_fixture`) does not run on pytest 9, so the test
walks the operations itself and reports every failing one at once.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import CredentialFactory, IdentityFactory, PersonFactory, TeamFactory

CHECKS = [not_a_server_error, response_schema_conformance]
EXAMPLES = 5


@pytest.fixture
def keep_test_connection():
    """The WSGI handler closes the database connection at each request's end, which would
    end the test's transaction; Django's test client disconnects the same handlers."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


def seed_register(owner) -> None:
    """A few rows of each kind, some owned by the owner user, so that list and detail
    responses carry real data for the schema checks (not only empty pages)."""
    team = TeamFactory()
    PersonFactory(team=team)
    for i in range(3):
        identity = IdentityFactory(technical_owner=owner if i < 2 else None)
        CredentialFactory(identity=identity)


def failures_of(operation, mode: GenerationMode, headers: dict, statuses: list[int]
                ) -> list[str]:
    failures: list[str] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.append(response.status_code)

    try:
        run()
    except Unsatisfiable:
        pass  # negative mode on an operation without parameters: nothing can be invalid
    except (Failure, FailureGroup, AssertionError) as exc:  # reported together below
        failures.append(f"{mode} {operation.label}: {exc}")
    return failures


@pytest.mark.parametrize("role", ["analyst", "owner"])
def test_it_answers_every_operation_without_errors_or_schema_violations(
    role, api_token, owner_person, keep_test_connection
):
    seed_register(owner_person)
    headers = {"Authorization": f"Bearer {api_token(role)}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json",
                                            get_wsgi_application(), headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    statuses: list[int] = []
    failures = [failure for operation in operations
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                for failure in failures_of(operation, mode, headers, statuses)]

    assert failures == [], "\n\n".join(failures)
    # The run reached the views, not only the authentication and routing layers.
    ok = [s for s in statuses if s < 300]
    assert len(ok) > 20 and len(statuses) >= 5 * len(operations), sorted(set(statuses))


def test_it_refuses_a_nul_in_a_natural_key_with_400(api_token):
    # Found by the run above: PostgreSQL refused the lookup and the API answered 500.
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {api_token('analyst')}")

    response = client.post("/api/v1/people/", {"email": "n@example.test", "name": "N",
                                               "team": "\x00x", "reason": "test"},
                           format="json")

    assert response.status_code == 400
    assert "team" in response.json()
