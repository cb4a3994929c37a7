"""API: POST /sources/{code}/sync/ and /test/ (analysts and admins), schedule checks in
standard cron order, and a schedule change re-planning the next run."""

import pytest
from rest_framework.test import APIClient

from inventory.models import Identity, Source, SyncRun
from inventory.sync import SyncInProgress
from nhigov.models import AuditEvent
from tests.inventory.discovery_helpers import eager_fixture, fake_source_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_for(users):
    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_login(users[role])
        return client

    return make


def action(source, name: str) -> str:
    return f"/api/v1/sources/{source.code}/{name}/"


# --- sync --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_it_runs_a_source_in_process_and_returns_the_run(api_for, fake_source, eager, role):
    source = fake_source(count=3)

    response = api_for(role).post(action(source, "sync"))

    assert response.status_code == 200, response.content
    body = response.json()
    run = SyncRun.objects.get()
    assert body["code"] == str(run.code) and body["status"] == "succeeded"
    assert (body["seen"], body["created"]) == (3, 3)
    assert body["triggered_by"] == f"{role}@example.test"
    assert Identity.objects.count() == 3


def test_it_queues_a_run_for_a_worker_and_answers_202(api_for, fake_source, monkeypatch):
    source = fake_source()
    sent = []
    monkeypatch.setattr("inventory.tasks.runs_in_process", lambda: False)
    monkeypatch.setattr("inventory.tasks.sync_source_task.apply_async",
                        lambda args, task_id: sent.append(task_id))

    response = api_for("analyst").post(action(source, "sync"))

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["task_id"] == sent[0]
    assert body["source"] == str(source.code)
    assert body["runs"] == f"http://testserver/api/v1/sync-runs/?source={source.code}"
    assert not SyncRun.objects.exists()
    assert AuditEvent.objects.get(action="source.sync_requested").after == {"task": sent[0]}


def test_it_answers_409_when_a_run_is_going_on(api_for, fake_source, eager, monkeypatch):
    def locked(source, triggered_by):
        raise SyncInProgress("busy")

    monkeypatch.setattr("inventory.tasks.discovery.run_source", locked)

    response = api_for("admin").post(action(fake_source(), "sync"))

    assert response.status_code == 409
    assert response.json() == {"detail": "Another run of this source is going on."}


def test_it_refuses_to_run_a_file_source(api_for, eager):
    source = Source.objects.create(name="manual-import", kind="file")

    response = api_for("admin").post(action(source, "sync"))

    assert response.status_code == 400 and "fed by imports" in response.json()["detail"]
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("name", ["sync", "test"])
def test_it_refuses_auditors_owners_and_anonymous(api_for, fake_source, eager, name):
    source = fake_source()

    assert api_for("auditor").post(action(source, name)).status_code == 403
    assert api_for("owner").post(action(source, name)).status_code == 403
    assert APIClient().post(action(source, name)).status_code == 401
    assert api_for("analyst").get(action(source, name)).status_code == 405
    assert not SyncRun.objects.exists()


# --- test --------------------------------------------------------------------------------


def test_it_returns_the_connection_check(api_for, fake_source, eager):
    response = api_for("analyst").post(action(fake_source(count=5), "test"))

    assert response.status_code == 200
    assert response.json() == {"ok": True, "summary": "Test fake: would report 5 identities",
                               "details": {"as": "tester"}, "error_kind": ""}


def test_it_returns_a_failed_check_with_its_kind(api_for, fake_source, eager):
    source = fake_source(config={"unreachable": True})

    body = api_for("admin").post(action(source, "test")).json()

    assert (body["ok"], body["error_kind"]) == (False, "unreachable")
    assert "connection refused" in body["summary"]


# --- schedules through the API -----------------------------------------------------------


@pytest.mark.parametrize(("schedule", "ok"), [
    ("0 6 15 * *", True),  # day of month 15: refused before the field order was fixed
    ("0 9 * * 1-5", True),
    ("0 0 * 13 *", False),  # month 13: accepted before (read as a day of month)
    ("0 0 31 2 *", False),
])
def test_it_checks_schedules_in_standard_cron_order(api_for, schedule, ok):
    body = {"name": "k8s", "kind": "kubernetes", "schedule": schedule,
            "config": {"host": "https://k8s:6443", "cluster_name": "prod"}}

    response = api_for("admin").post("/api/v1/sources/", body, format="json")

    assert response.status_code == (201 if ok else 400), response.content
    if not ok:
        assert "schedule" in response.json()


def test_it_replans_the_next_run_when_the_schedule_changes(api_for):
    source = Source.objects.create(name="k8s", kind="kubernetes", schedule="0 * * * *",
                                   next_run_at="2030-01-01T00:00:00Z")
    client = api_for("admin")

    client.patch(f"/api/v1/sources/{source.code}/", {"enabled": False}, format="json")
    source.refresh_from_db()
    assert source.next_run_at is not None

    client.patch(f"/api/v1/sources/{source.code}/", {"schedule": "*/5 * * * *"}, format="json")
    source.refresh_from_db()
    assert source.schedule == "*/5 * * * *" and source.next_run_at is None
