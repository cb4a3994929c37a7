"""inventory.discovery: running a source through its connector, testing it, schedules and
claims, held-run decisions; plus the shared cron rules of inventory.source_config."""

import sys
from datetime import UTC, datetime, timedelta

import pytest

from inventory import discovery
from inventory.connectors import load_all
from inventory.connectors.base import REGISTRY
from inventory.models import Identity, Source, SyncRun
from inventory.source_config import clean_schedule, config_problems, next_fire
from inventory.sync import HeldRunError
from nhigov.lib.audit import Actor
from nhigov.models import AuditEvent
from tests.inventory.discovery_helpers import fake_source_fixture  # noqa: F401
from tests.live import fake_connector

pytestmark = pytest.mark.django_db

NOON = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # a Monday


# --- run_source --------------------------------------------------------------------------


def test_it_runs_a_source_through_its_connector(fake_source):
    source = fake_source(count=4)

    run = discovery.run_source(source, "tester")

    assert (run.status, run.seen, run.created, run.triggered_by) == ("succeeded", 4, 4, "tester")
    assert sorted(Identity.objects.values_list("name", flat=True)) == [
        "fake-0", "fake-1", "fake-2", "fake-3"]
    again = discovery.run_source(source, "tester")
    assert (again.seen, again.created, again.unchanged) == (4, 0, 4)


def test_it_records_a_bad_configuration_as_a_failed_run(fake_source):
    source = fake_source(count=-1)

    run = discovery.run_source(source, "tester")

    assert run.status == "failed" and run.finished_at is not None
    assert "'count' must be a whole number" in run.error
    assert not Identity.objects.exists()


def test_it_records_an_unknown_kind_as_a_failed_run(db):
    source = Source.objects.create(name="mystery", kind="mainframe")

    run = discovery.run_source(source, "tester")

    assert run.status == "failed"
    assert "No connector for source kind 'mainframe'" in run.error


def test_it_fails_a_run_interrupted_by_the_source_and_marks_nothing_missing(fake_source):
    source = fake_source(count=5)
    discovery.run_source(source, "first")
    source.config = {"count": 5, "fail_after": 2}
    source.save()

    run = discovery.run_source(source, "second")

    assert run.status == "failed"
    assert "connection lost after 2 records" in run.error
    assert run.missing == 0
    assert set(Identity.objects.values_list("status", flat=True)) == {"active"}


def test_it_summarises_a_run(fake_source):
    run = discovery.run_source(fake_source(count=2), "tester")

    summary = discovery.run_summary(run)

    assert summary["status"] == "succeeded" and summary["run"] == str(run.code)
    assert (summary["seen"], summary["created"], summary["missing"]) == (2, 2, 0)
    assert summary["duration_seconds"] >= 0


# --- test_source -------------------------------------------------------------------------


def test_it_tests_a_source(fake_source):
    result = discovery.test_source(fake_source(count=7))

    assert result.ok and "7 identities" in result.summary


@pytest.mark.parametrize(("config", "kind", "text"), [
    ({"count": 1, "unreachable": True}, "unreachable", "connection refused"),
    ({}, "bad_config", "'count' is required"),
    ({"count": 1, "password": "x"}, "bad_config", "unknown parameter 'password'"),
])
def test_it_reports_a_failed_test_without_raising(fake_source, config, kind, text):
    source = fake_source()
    source.config = config

    result = discovery.test_source(source)

    assert (result.ok, result.error_kind) == (False, kind)
    assert text in result.summary


def test_it_reports_an_unexpected_connector_error(fake_source, monkeypatch):
    def broken(self):
        raise KeyError("Arn")

    monkeypatch.setattr(fake_connector.FakeConnector, "check", broken)

    result = discovery.test_source(fake_source())

    assert (result.ok, result.error_kind) == (False, "error")
    assert "KeyError" in result.summary


# --- cron schedules ----------------------------------------------------------------------


@pytest.mark.parametrize(("schedule", "expected"), [
    ("*/15 * * * *", datetime(2025, 3, 3, 12, 15, tzinfo=UTC)),
    ("0 * * * *", datetime(2025, 3, 3, 13, 0, tzinfo=UTC)),
    ("30 2 * * *", datetime(2025, 3, 4, 2, 30, tzinfo=UTC)),
    # Standard cron order: day of month third, day of week last (Celery's is different).
    ("0 6 15 * *", datetime(2025, 3, 15, 6, 0, tzinfo=UTC)),
    ("0 9 * * 6", datetime(2025, 3, 8, 9, 0, tzinfo=UTC)),
    ("0 0 1 jan *", datetime(2026, 1, 1, 0, 0, tzinfo=UTC)),
])
def test_it_computes_the_next_fire_time_in_standard_cron_order(schedule, expected):
    assert next_fire(clean_schedule(schedule), NOON) == expected


@pytest.mark.parametrize(("schedule", "text"), [
    ("0 * * *", "five cron fields"),
    ("every hour", "five cron fields"),
    ("61 * * * *", "minute field '61'"),
    ("0 24 * * *", "hour field '24'"),
    ("0 0 32 * *", "day of month field '32'"),
    ("0 0 * 13 *", "month field '13'"),
    ("0 0 * * 8", "day of week field '8'"),
    ("0 0 31 2 *", "never fires"),
])
def test_it_refuses_invalid_schedules_naming_the_field(schedule, text):
    with pytest.raises(ValueError, match=text):
        clean_schedule(schedule)


def test_it_normalises_schedules():
    assert clean_schedule("  0   *  * * *  ") == "0 * * * *"
    assert clean_schedule("") == ""


# --- due sources and claims --------------------------------------------------------------


def scheduled(fake_source, name="fake", schedule="0 * * * *", created=NOON, **fields):
    source = fake_source(name=name, schedule=schedule, **fields)
    Source.objects.filter(pk=source.pk).update(created_at=created)
    source.refresh_from_db()
    return source


def test_it_plans_a_new_source_from_its_creation(fake_source):
    scheduled(fake_source, created=NOON + timedelta(minutes=10))

    assert discovery.due_sources(NOON + timedelta(minutes=59)) == []
    assert [s.name for s in discovery.due_sources(NOON + timedelta(hours=1))] == ["fake"]


def test_it_plans_from_the_last_run(fake_source):
    source = scheduled(fake_source, created=NOON - timedelta(days=30))
    run = SyncRun.objects.create(source=source, status="succeeded")
    SyncRun.objects.filter(pk=run.pk).update(started_at=NOON + timedelta(minutes=5))

    assert discovery.due_sources(NOON + timedelta(minutes=30)) == []
    assert len(discovery.due_sources(NOON + timedelta(hours=1))) == 1


def test_it_skips_manual_disabled_and_planned_later_sources(fake_source):
    scheduled(fake_source, name="manual", schedule="")
    scheduled(fake_source, name="off", enabled=False)
    later = scheduled(fake_source, name="later")
    Source.objects.filter(pk=later.pk).update(next_run_at=NOON + timedelta(days=1))

    assert discovery.due_sources(NOON + timedelta(hours=2)) == []


def test_it_skips_a_source_with_an_invalid_stored_schedule(fake_source):
    scheduled(fake_source, schedule="99 * * * *")

    assert discovery.due_sources(NOON + timedelta(days=1)) == []


def test_it_claims_a_due_source_once(fake_source):
    scheduled(fake_source)
    now = NOON + timedelta(hours=1, minutes=30)
    first, second = discovery.due_sources(now), discovery.due_sources(now)

    assert discovery.claim(first[0], now) is True
    assert discovery.claim(second[0], now) is False  # read before the first claim
    source = Source.objects.get()
    assert source.next_run_at == datetime(2025, 3, 3, 14, 0, tzinfo=UTC)
    assert discovery.due_sources(now) == []
    assert discovery.claim_due_sources(datetime(2025, 3, 3, 14, 0, tzinfo=UTC)) == [source]


def test_it_does_not_claim_a_source_whose_schedule_changed_meanwhile(fake_source):
    scheduled(fake_source)
    now = NOON + timedelta(hours=2)
    [due] = discovery.due_sources(now)
    Source.objects.filter(pk=due.pk).update(schedule="0 0 * * *")

    assert discovery.claim(due, now) is False


def test_it_runs_a_missed_schedule_once_not_as_a_backlog(fake_source):
    source = scheduled(fake_source, schedule="*/5 * * * *")
    Source.objects.filter(pk=source.pk).update(next_run_at=NOON)
    now = NOON + timedelta(days=1, minutes=2)

    assert len(discovery.claim_due_sources(now)) == 1
    assert discovery.claim_due_sources(now) == []
    assert Source.objects.get().next_run_at == NOON + timedelta(days=1, minutes=5)


def test_it_shows_the_planned_run_and_state(fake_source):
    source = scheduled(fake_source, schedule="*/10 * * * *")
    run = discovery.run_source(source, "tester")

    state = discovery.source_state(source, [run])

    assert state.last_run == run and not state.running
    assert state.next_run == next_fire(source.schedule, run.started_at)
    assert state.duration.endswith(("ms", "s"))
    source.enabled = False
    assert discovery.source_state(source, []).next_run is None


@pytest.mark.parametrize(("seconds", "text"), [
    (0.25, "250 ms"), (12.44, "12.4 s"), (185, "3 min 05 s"), (7800, "2 h 10 min"),
])
def test_it_formats_durations_for_table_cells(seconds, text):
    assert discovery.format_duration(timedelta(seconds=seconds)) == text


# --- held runs ---------------------------------------------------------------------------


@pytest.fixture
def held(fake_source):
    """A source of 10 identities whose latest run reported only 5: held (50% > 20%)."""
    source = fake_source(count=10)
    discovery.run_source(source, "first")
    source.config = {"count": 5}
    source.save()
    run = discovery.run_source(source, "second")
    assert run.status == "held"
    return run


def test_it_confirms_a_held_run_with_a_reason(held, users):
    actor = Actor.for_user(users["analyst"])

    run = discovery.decide_held_run(held, True, actor, "cluster shrank, CHG-42")

    assert (run.status, run.missing) == ("succeeded", 5)
    assert Identity.objects.filter(status="missing").count() == 5
    event = AuditEvent.objects.get(action="sync_run.reviewed")
    assert event.reason == "cluster shrank, CHG-42"
    assert event.after["decision"] == "confirm" and event.actor == "analyst@example.test"


def test_it_discards_a_held_run(held, users):
    run = discovery.decide_held_run(held, False, Actor.for_user(users["analyst"]), "outage")

    assert run.status == "failed"
    assert not Identity.objects.filter(status="missing").exists()
    assert AuditEvent.objects.get(action="sync_run.reviewed").after["decision"] == "discard"


def test_it_refuses_to_decide_a_superseded_held_run(held, users):
    discovery.run_source(held.source, "third")

    with pytest.raises(HeldRunError):
        discovery.decide_held_run(held, True, Actor.for_user(users["analyst"]), "late")
    assert not AuditEvent.objects.filter(action="sync_run.reviewed").exists()


# --- connectors and config ---------------------------------------------------------------


def test_it_loads_extra_connector_modules_named_in_the_environment(monkeypatch, tmp_path):
    (tmp_path / "site_connector_xyz.py").write_text(
        "from inventory.connectors.base import Connector, register\n"
        "@register\n"
        "class Site(Connector):\n"
        "    name = 'site-xyz'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("NHIGOV_EXTRA_CONNECTORS", " site_connector_xyz , ")
    monkeypatch.delitem(sys.modules, "site_connector_xyz", raising=False)
    try:
        load_all()
        assert "site-xyz" in REGISTRY
    finally:
        REGISTRY.pop("site-xyz", None)
        sys.modules.pop("site_connector_xyz", None)


def test_it_fails_loudly_on_a_missing_extra_connector_module(monkeypatch):
    monkeypatch.setenv("NHIGOV_EXTRA_CONNECTORS", "tests.live.no_such_connector")

    with pytest.raises(ModuleNotFoundError):
        load_all()


@pytest.mark.parametrize(("config", "text"), [
    ({"count": 1, "api_token": "abc"}, "look like secrets: api_token"),
    ({"count": 1, "prefix": "-----BEGIN RSA PRIVATE KEY-----\nMII"}, "look like secrets"),
    ({"count": "many"}, "'count' must be a whole number"),
])
def test_it_explains_unusable_configs(config, text):
    [problem] = config_problems(fake_connector.KIND, config)
    assert text in problem


def test_it_accepts_references_to_secrets():
    assert config_problems("vault", {"url": "https://vault:8200", "token_env": "VT"}) == []
