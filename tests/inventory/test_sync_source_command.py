"""`manage.py sync_source NAME [--async]`: runs the same function as the task, prints the
run's counts, and exits non-zero when the run failed, was held or could not start."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory import discovery
from inventory.models import Identity, SyncRun
from inventory.sync import SyncInProgress
from nhigov.models import AuditEvent
from tests.inventory.discovery_helpers import eager_fixture, fake_source_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, int]:
    """(stdout, exit status) of the command."""
    out = StringIO()
    try:
        call_command("sync_source", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return out.getvalue() + str(exc), exc.returncode
    return out.getvalue(), 0


def test_it_runs_a_source_and_prints_its_counts(fake_source):
    fake_source(name="k8s-prod", count=3)

    out, status = run("k8s-prod")

    assert status == 0
    run_row = SyncRun.objects.get()
    assert f"Source k8s-prod (test-fake): run {run_row.code} succeeded in " in out
    assert "seen 3  created 3  updated 0  unchanged 0  missing 0  returned 0" in out
    assert run_row.triggered_by == "command:sync_source"
    assert Identity.objects.count() == 3


def test_it_finds_a_source_by_code(fake_source):
    source = fake_source()

    assert run(str(source.code))[1] == 0


def test_it_exits_1_on_a_failed_run_and_prints_the_error(fake_source):
    fake_source(config={"fail_after": 1})

    out, status = run("fake")

    assert status == 1
    assert "failed" in out and "error: Failed after" in out and "connection lost" in out


def test_it_exits_3_on_a_held_run(fake_source):
    source = fake_source(count=10)
    run("fake")
    source.config = {"count": 2}
    source.save()

    out, status = run("fake")

    assert status == 3
    assert "held" in out and "confirm or discard" in out
    assert "seen 2" in out


def test_it_exits_4_when_another_run_is_going_on(fake_source, monkeypatch):
    fake_source()

    def locked(source, triggered_by):
        raise SyncInProgress("A sync of source 'fake' is already running.")

    monkeypatch.setattr(discovery, "run_source", locked)

    out, status = run("fake")

    assert status == 4 and "already running" in out


def test_it_names_the_known_sources_for_an_unknown_one(fake_source):
    fake_source(name="aws-prod")

    out, status = run("aws-prdo")

    assert status == 1 and "No source named 'aws-prdo'. Known sources: aws-prod." in out


def test_it_runs_through_the_task_with_async(fake_source, eager):
    fake_source(count=2)

    out, status = run("fake", "--async")

    assert status == 0 and "seen 2  created 2" in out
    assert AuditEvent.objects.filter(action="source.sync_requested",
                                     actor="command:sync_source").exists()


def test_it_gives_up_waiting_for_a_worker(fake_source, monkeypatch):
    from celery.exceptions import TimeoutError as ResultTimeout

    from inventory import tasks

    class Pending:
        def get(self, timeout):
            raise ResultTimeout("no worker")

    fake_source()
    monkeypatch.setattr(tasks, "runs_in_process", lambda: False)
    monkeypatch.setattr(tasks.sync_source_task, "apply_async", lambda *a, **k: None)
    monkeypatch.setattr(tasks.sync_source_task, "AsyncResult", lambda task_id: Pending())

    out, status = run("fake", "--async", "--timeout", "0.5")

    assert status == 5 and "No worker finished the run within 0.5 s" in out
