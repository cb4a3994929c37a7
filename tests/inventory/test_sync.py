"""inventory.sync: upsert, unchanged rows untouched, people's fields kept, missing/held."""

from datetime import UTC, datetime

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import sync_upsert
from inventory.connectors.base import CredentialRecord, IdentityRecord
from inventory.models import Credential, Environment, Identity, SyncRun
from inventory.sync import (
    HeldRunError,
    SyncInProgress,
    confirm_held_run,
    discard_held_run,
    sync_records,
)
from nhigov.lib.audit import Actor, verify_chain
from nhigov.models import AuditEvent
from tests.factories import PersonFactory, SourceFactory, TeamFactory

pytestmark = pytest.mark.django_db

USED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def rec(n: int, **overrides) -> IdentityRecord:
    values = {
        "external_id": f"arn:aws:iam::1:user/svc-{n}", "provider": "aws", "kind": "iam_user",
        "name": f"svc-{n}", "environment": "production", "privilege": "read",
        "auth_method": "static_secret", "last_used_at": USED, "tags": ["team:a"],
        "credentials": [CredentialRecord("access_key", f"AKIA{n:012d}", created_at_source=USED)],
    }
    values.update(overrides)
    return IdentityRecord(**values)


def recs(count: int, start: int = 0) -> list[IdentityRecord]:
    return [rec(n) for n in range(start, start + count)]


@pytest.fixture
def source():
    return SourceFactory(name="aws-test", kind="aws")


def writes(ctx: CaptureQueriesContext, table: str) -> list[str]:
    """INSERT/UPDATE/DELETE statements against `table` in the captured queries."""
    return [q["sql"] for q in ctx.captured_queries
            if q["sql"].split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE")
            and f'"{table}"' in q["sql"].split("SET", 1)[0].split("(", 1)[0]]


def test_it_creates_identities_credentials_and_environments(source):
    run = sync_records(source, recs(3), triggered_by="test")
    assert (run.status, run.seen, run.created, run.updated, run.unchanged) == (
        "succeeded", 3, 3, 0, 0)
    assert run.finished_at is not None and run.triggered_by == "test"
    identity = Identity.objects.get(external_id="arn:aws:iam::1:user/svc-1")
    assert identity.environment.slug == "production" and identity.environment.is_production
    assert identity.data_hash and identity.last_seen_at and identity.last_used_at == USED
    assert identity.credentials.get().external_id == "AKIA000000000001"
    assert Environment.objects.count() == 1


def test_it_does_not_write_unchanged_rows(source):
    sync_records(source, recs(50))
    before = dict(Identity.objects.values_list("id", "updated_at"))
    with CaptureQueriesContext(connection) as ctx:
        run = sync_records(source, recs(50))
    assert (run.seen, run.created, run.updated, run.unchanged) == (50, 0, 0, 50)
    assert writes(ctx, "inventory_identity") == []
    assert writes(ctx, "inventory_credential") == []
    assert dict(Identity.objects.values_list("id", "updated_at")) == before


def test_it_ignores_the_order_the_source_lists_things_in(source):
    two = [CredentialRecord("access_key", "AKIA1"), CredentialRecord("access_key", "AKIA2")]
    sync_records(source, [rec(1, credentials=two, tags=["a", "b"])])
    run = sync_records(source, [rec(1, credentials=two[::-1], tags=["b", "a"])])
    assert (run.updated, run.unchanged) == (0, 1)


def test_it_updates_changed_rows_and_their_credentials(source):
    sync_records(source, [rec(1), rec(2)])
    changed = rec(1, privilege="admin",
                  credentials=[CredentialRecord("access_key", "AKIANEW", created_at_source=USED)])
    run = sync_records(source, [changed, rec(2)])
    assert (run.updated, run.unchanged) == (1, 1)
    identity = Identity.objects.get(name="svc-1")
    assert identity.privilege == "admin"
    statuses = dict(identity.credentials.values_list("external_id", "status"))
    assert statuses == {"AKIA000000000001": "revoked", "AKIANEW": "active"}


def test_it_never_overwrites_fields_people_own(source):
    sync_records(source, [rec(1)])
    owner, team = PersonFactory(email="kept@example.test"), TeamFactory(slug="kept")
    Identity.objects.filter(name="svc-1").update(
        technical_owner=owner, business_owner=owner, team=team, purpose="set by hand",
        zone="storage", workload="billing", change_ticket="CHG-1")
    PersonFactory(email="hint@example.test")
    hints = {"technical_owner": "hint@example.test", "business_owner": "hint@example.test",
             "team": "other", "purpose": "from source", "zone": "compute",
             "workload": "x", "change_ticket": "CHG-2"}
    sync_records(source, [rec(1, privilege="write", owner_hints=hints)])
    identity = Identity.objects.get(name="svc-1")
    assert (identity.technical_owner, identity.business_owner, identity.team) == (
        owner, owner, team)
    assert (identity.purpose, identity.zone, identity.workload, identity.change_ticket) == (
        "set by hand", "storage", "billing", "CHG-1")
    assert identity.privilege == "write"
    assert identity.owner_hints == hints  # kept as suggestions


def test_it_fills_empty_fields_from_hints(source):
    tech = PersonFactory(email="Tech.Owner@example.test")
    biz = PersonFactory(email="biz@example.test")
    team = TeamFactory(name="Payments Platform", slug="payments")
    hints = {"owner": "tech.owner@EXAMPLE.test", "business_owner": "biz@example.test",
             "team": "payments platform", "purpose": "settles card payments",
             "zone": "Compute", "environment": "staging"}
    sync_records(source, [rec(1, environment="", owner_hints=hints),
                          rec(2, owner_hints={"team": "PAYMENTS", "owner": "nobody@x.test"})])
    one, two = Identity.objects.get(name="svc-1"), Identity.objects.get(name="svc-2")
    assert (one.technical_owner, one.business_owner, one.team) == (tech, biz, team)
    assert (one.purpose, one.zone, one.environment.slug) == (
        "settles card payments", "compute", "staging")
    assert two.team == team and two.technical_owner is None  # unknown email: hint only
    assert two.owner_hints["owner"] == "nobody@x.test"


def test_it_fills_empty_fields_of_existing_rows_when_they_change(source):
    sync_records(source, [rec(1)])
    person = PersonFactory(email="late@example.test")
    sync_records(source, [rec(1, owner_hints={"owner": "late@example.test", "zone": "access"})])
    identity = Identity.objects.get(name="svc-1")
    assert identity.technical_owner == person and identity.zone == "access"


def test_it_marks_unseen_identities_missing_on_a_complete_run(source):
    sync_records(source, recs(10))
    run = sync_records(source, recs(9))
    assert (run.status, run.missing) == ("succeeded", 1)
    gone = Identity.objects.get(name="svc-9")
    assert gone.status == "missing" and gone.missing_since is not None
    assert Identity.objects.filter(status="active").count() == 9
    event = AuditEvent.objects.get(action="identity.missing")
    assert event.object_id == str(gone.code) and event.actor == f"sync:{run.code}"
    assert verify_chain().ok


def test_it_brings_a_missing_identity_back(source):
    sync_records(source, recs(10))
    sync_records(source, recs(9))
    run = sync_records(source, recs(10))
    assert (run.returned, run.missing, run.created) == (1, 0, 0)
    back = Identity.objects.get(name="svc-9")
    assert back.status == "active" and back.missing_since is None
    assert AuditEvent.objects.filter(action="identity.returned", object_id=str(back.code)).exists()


def test_it_records_one_run_event_with_counts(source):
    run = sync_records(source, recs(4))
    event = AuditEvent.objects.get(action="sync_run.finished")
    assert event.object_id == str(run.code) and event.actor_type == "system"
    assert event.after["created"] == 4 and event.after["status"] == "succeeded"


def failing(records, after: int):
    for index, record in enumerate(records):
        if index == after:
            raise ConnectionError("AWS endpoint unreachable")
        yield record


def test_it_marks_nothing_missing_when_the_run_fails(source, settings):
    settings.SYNC_BATCH_SIZE = 3
    sync_records(source, recs(10))
    run = sync_records(source, failing(recs(12), after=7))
    assert run.status == "failed" and run.missing == 0
    assert "ConnectionError: AWS endpoint unreachable" in run.error
    assert Identity.objects.filter(status="missing").count() == 0
    assert run.seen == 6  # two whole batches were written before the source broke


def test_it_converges_when_a_failed_run_is_retried(source, settings):
    settings.SYNC_BATCH_SIZE = 3
    sync_records(source, failing(recs(8), after=4))
    run = sync_records(source, recs(8))
    assert (run.status, run.created, run.unchanged) == ("succeeded", 5, 3)
    assert Identity.objects.count() == 8 and Credential.objects.count() == 8


def test_it_counts_only_batches_that_were_written(source, settings, monkeypatch):
    settings.SYNC_BATCH_SIZE = 2
    calls = []

    def flaky(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return original(*args)

    original = sync_upsert.sync_credentials
    monkeypatch.setattr(sync_upsert, "sync_credentials", flaky)
    run = sync_records(source, recs(6))
    assert (run.status, run.seen, run.created) == ("failed", 2, 2)
    assert "RuntimeError: database went away" in run.error
    assert Identity.objects.count() == Credential.objects.count() == 2  # batch 2 rolled back


def test_it_marks_nothing_missing_on_a_partial_run(source):
    sync_records(source, recs(10))
    run = sync_records(source, recs(2), complete=False)
    assert (run.status, run.missing) == ("succeeded", 0)
    assert not Identity.objects.filter(status="missing").exists()


def test_it_marks_nothing_missing_on_an_empty_run(source):
    sync_records(source, recs(10))
    run = sync_records(source, [])
    assert (run.status, run.missing, run.seen) == ("succeeded", 0, 0)
    assert "no identities" in run.error
    assert not Identity.objects.filter(status="missing").exists()


def test_it_holds_a_run_that_would_mark_too_many_missing(source):
    sync_records(source, recs(10))
    run = sync_records(source, recs(7))
    assert (run.status, run.missing) == ("held", 0)
    assert "3 of 10" in run.error and "20%" in run.error
    assert not Identity.objects.filter(status="missing").exists()
    confirmed = confirm_held_run(run, Actor.system("test"))
    assert (confirmed.status, confirmed.missing) == ("succeeded", 3)
    assert set(Identity.objects.filter(status="missing").values_list("name", flat=True)) == {
        "svc-7", "svc-8", "svc-9"}
    assert AuditEvent.objects.filter(action="identity.missing", actor="test").count() == 3
    with pytest.raises(HeldRunError):
        confirm_held_run(run, Actor.system("test"))


def test_it_confirms_only_identities_the_held_run_did_not_see(source, settings):
    settings.SYNC_LAST_SEEN_REFRESH_HOURS = 0  # seen rows keep old stamps until held
    sync_records(source, recs(10))
    run = sync_records(source, recs(5))
    assert run.status == "held"
    assert confirm_held_run(run, Actor.system("test")).missing == 5
    assert Identity.objects.filter(status="active").count() == 5


def test_it_discards_a_held_run(source, users):
    source.missing_threshold = 0.5
    source.save()
    sync_records(source, recs(10))
    assert sync_records(source, recs(6)).status == "succeeded"  # 40% <= 50%
    run = sync_records(source, recs(2))
    assert run.status == "held"
    discarded = discard_held_run(run, Actor.for_user(users["analyst"]))
    assert discarded.status == "failed" and "Discarded by analyst@example.test" in discarded.error
    assert Identity.objects.filter(status="missing").count() == 4
    assert AuditEvent.objects.filter(action="sync_run.discarded").exists()


def test_it_supersedes_a_held_run_with_the_next_run(source):
    sync_records(source, recs(10))
    held = sync_records(source, recs(5))
    sync_records(source, recs(10))
    held.refresh_from_db()
    assert held.status == "failed" and "Superseded" in held.error
    with pytest.raises(HeldRunError):
        confirm_held_run(held, Actor.system("test"))


def count_queries(source, records) -> int:
    with CaptureQueriesContext(connection) as ctx:
        sync_records(source, records)
    return len(ctx.captured_queries)


def test_it_uses_a_bounded_number_of_queries(settings):
    small, large = SourceFactory(name="small"), SourceFactory(name="large")
    hints = {"owner": "q@example.test", "team": "q"}
    PersonFactory(email="q@example.test")
    creating = (count_queries(small, [rec(n, owner_hints=hints) for n in range(100)]),
                count_queries(large, [rec(n, owner_hints=hints) for n in range(1000)]))
    changing = (count_queries(small, [rec(n, privilege="admin") for n in range(100)]),
                count_queries(large, [rec(n, privilege="admin") for n in range(1000)]))
    unchanged = (count_queries(small, [rec(n, privilege="admin") for n in range(100)]),
                 count_queries(large, [rec(n, privilege="admin") for n in range(1000)]))
    assert unchanged[0] == unchanged[1]
    if connection.vendor == "postgresql":
        assert creating[0] == creating[1] and changing[0] == changing[1]
    else:
        # SQLite caps statements at 999 parameters, so Django splits bulk statements;
        # still a small constant per batch, never a query per row.
        assert creating[1] < 120 and changing[1] < 120


@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL")
def test_it_refuses_a_second_run_of_the_same_source(source):
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(autocommit=True, **params) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [0x6E686973, source.pk])
        with pytest.raises(SyncInProgress, match="already running"):
            sync_records(source, recs(1))
        # Unlock explicitly: the server may release a closed session's locks a bit later.
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [0x6E686973, source.pk])
    assert not SyncRun.objects.filter(source=source).exists()
    assert sync_records(source, recs(1)).status == "succeeded"


def test_it_closes_runs_left_running_by_a_crashed_worker(source):
    stale = SyncRun.objects.create(source=source)
    sync_records(source, recs(1))
    stale.refresh_from_db()
    assert stale.status == "failed" and "Interrupted" in stale.error
