"""A sync run's change log: created, updated, missing and returned identities recorded with
the run, matching its counts, and listed by the register's run/change filters."""

import re

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory import sync_upsert
from inventory.connectors.base import CredentialRecord
from inventory.filtersets import IdentityFilterSet
from inventory.models import Identity, SyncChange
from inventory.sync import confirm_held_run, sync_records
from nhigov.lib.audit import Actor
from tests.factories import SourceFactory
from tests.inventory.test_sync import rec, recs, writes

pytestmark = pytest.mark.django_db

LIST = reverse("inventory:identity_list")
API = "/api/v1/identities/"
ROW_NAME = re.compile(r'<td class="name"><a href="/identities/[0-9a-f-]{36}/">([^<]+)</a>')


@pytest.fixture
def source():
    return SourceFactory(name="aws-changes", kind="aws")


def changes(run, kind: str) -> dict[str, list[str]]:
    """Identity name -> changed fields, for the run's change rows of `kind`."""
    rows = SyncChange.objects.filter(run=run, kind=kind).select_related("identity")
    return {row.identity.name: row.fields for row in rows}


def names(*numbers: int) -> set[str]:
    return {f"svc-{n}" for n in numbers}


def assert_rows_match_counts(run) -> None:
    for kind in ("created", "updated", "missing", "returned"):
        assert SyncChange.objects.filter(run=run, kind=kind).count() == getattr(run, kind), kind


def test_it_records_each_created_identity(source):
    run = sync_records(source, recs(3))
    assert changes(run, "created") == {name: [] for name in names(0, 1, 2)}
    assert_rows_match_counts(run)


def test_it_records_updated_identities_with_the_fields_that_changed(source):
    sync_records(source, recs(4))
    new_key = [CredentialRecord("access_key", "AKIANEW", created_at_source=rec(0).last_used_at)]
    run = sync_records(source, [
        rec(0, privilege="admin", tags=["team:b"]),
        rec(1, credentials=new_key),
        rec(2, environment="staging"),
        rec(3),
    ])
    assert changes(run, "updated") == {
        "svc-0": ["privilege", "tags"], "svc-1": ["credentials"], "svc-2": ["environment"]}
    assert changes(run, "created") == {}
    assert_rows_match_counts(run)


def test_it_records_a_status_the_portal_changed_and_the_source_restored(source):
    sync_records(source, recs(2))
    Identity.objects.filter(name="svc-0").update(status="deprovisioned")
    run = sync_records(source, recs(2))
    assert (run.updated, run.unchanged) == (1, 1)
    assert changes(run, "updated") == {"svc-0": ["status"]}


def test_it_records_no_change_for_an_unchanged_resync(source):
    sync_records(source, recs(30))
    with CaptureQueriesContext(connection) as ctx:
        run = sync_records(source, recs(30))
    assert (run.unchanged, run.updated) == (30, 0)
    assert not SyncChange.objects.filter(run=run).exists()
    assert writes(ctx, "inventory_syncchange") == []
    assert not any("inventory_syncchange" in q["sql"] for q in ctx.captured_queries)


def test_it_records_missing_and_returned_identities(source):
    first = sync_records(source, recs(10))
    gone = sync_records(source, recs(9))
    assert changes(gone, "missing") == {"svc-9": []}
    back = sync_records(source, recs(10))
    assert changes(back, "returned") == {"svc-9": []}
    assert changes(back, "updated") == {}  # same data: back, not changed
    for run in (first, gone, back):
        assert_rows_match_counts(run)


def test_it_records_both_kinds_for_an_identity_back_with_new_data(source):
    sync_records(source, recs(10))
    sync_records(source, recs(9))
    run = sync_records(source, [*recs(9), rec(9, privilege="admin")])
    assert changes(run, "returned") == {"svc-9": []}
    assert changes(run, "updated") == {"svc-9": ["privilege", "status"]}
    assert_rows_match_counts(run)


def test_it_records_missing_identities_on_the_held_run_when_confirmed(source):
    sync_records(source, recs(10))
    held = sync_records(source, recs(7))
    assert held.status == "held" and not SyncChange.objects.filter(run=held).exists()
    confirmed = confirm_held_run(held, Actor.system("test"))
    assert changes(confirmed, "missing") == {name: [] for name in names(7, 8, 9)}
    assert_rows_match_counts(confirmed)


def test_it_keeps_no_change_rows_of_a_batch_that_rolled_back(source, settings, monkeypatch):
    settings.SYNC_BATCH_SIZE = 2
    calls = []
    original = sync_upsert.sync_credentials

    def flaky(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return original(*args)

    monkeypatch.setattr(sync_upsert, "sync_credentials", flaky)
    run = sync_records(source, recs(6))
    assert run.status == "failed"
    assert changes(run, "created") == {name: [] for name in names(0, 1)}


def test_it_counts_a_repeated_record_once(source, settings):
    settings.SYNC_BATCH_SIZE = 2
    run = sync_records(source, [rec(1), rec(2), rec(1), rec(3)])
    assert changes(run, "created") == {name: [] for name in names(1, 2, 3)}
    assert_rows_match_counts(run)


def count_queries(source, records) -> int:
    with CaptureQueriesContext(connection) as ctx:
        sync_records(source, records)
    return len(ctx.captured_queries)


def test_it_logs_changes_in_a_bounded_number_of_queries():
    small, large = SourceFactory(name="small"), SourceFactory(name="large")
    creating = (count_queries(small, recs(100)), count_queries(large, recs(1000)))
    changing = (count_queries(small, [rec(n, privilege="admin") for n in range(100)]),
                count_queries(large, [rec(n, privilege="admin") for n in range(1000)]))
    missing = (count_queries(small, recs(90)), count_queries(large, recs(900)))
    assert SyncChange.objects.filter(kind="missing").count() == 110
    if connection.vendor == "postgresql":
        assert creating[0] == creating[1] and changing[0] == changing[1]
        assert missing[0] == missing[1]
    else:
        # SQLite caps statements at 999 parameters, so Django splits bulk statements.
        assert max(creating[1], changing[1], missing[1]) < 140


# --- the register's run/change filters ----------------------------------------------------


@pytest.fixture
def three_runs(source):
    """A first run creating svc-0..4; a second changing svc-0, dropping svc-4, adding svc-5."""
    source.missing_threshold = 0.5
    source.save()
    first = sync_records(source, recs(5))
    second = sync_records(source, [rec(0, privilege="admin"), *recs(3, start=1), rec(5)])
    return first, second


def page_names(client, query: str) -> set[str]:
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    return set(ROW_NAME.findall(response.content.decode()))


def test_it_lists_exactly_the_identities_a_run_changed(client_for, three_runs):
    first, second = three_runs
    client = client_for("analyst")
    assert page_names(client, f"run={first.code}&change=created") == names(0, 1, 2, 3, 4)
    assert page_names(client, f"run={second.code}&change=created") == names(5)
    assert page_names(client, f"run={second.code}&change=updated") == names(0)
    assert page_names(client, f"run={second.code}&change=missing") == names(4)
    assert page_names(client, f"run={second.code}&change=created&change=missing") == names(4, 5)
    assert page_names(client, f"run={second.code}") == names(0, 4, 5)
    assert page_names(client, f"run={second.code}&change=returned") == set()
    assert page_names(client, f"run={second.code}&change=created&kind=iam_user") == names(5)


def test_it_filters_the_api_by_run_and_change(client_for, three_runs):
    _, second = three_runs
    response = client_for("auditor").get(API, {"run": str(second.code), "change": "missing"})
    assert response.status_code == 200, response.content
    assert [row["name"] for row in response.json()["results"]] == ["svc-4"]


def test_it_refuses_a_change_filter_without_a_run(client_for, three_runs):
    assert client_for("auditor").get(API, {"change": "created"}).status_code == 400
    assert page_names(client_for("analyst"), "change=created") == set()


def test_it_refuses_an_unknown_run(client_for, three_runs):
    assert client_for("auditor").get(API, {"run": "not-a-uuid"}).status_code == 400
    missing_run = "00000000-0000-0000-0000-000000000000"
    assert client_for("auditor").get(API, {"run": missing_run}).status_code == 400


def test_it_shows_the_run_filter_as_a_chip(client_for, three_runs):
    _, second = three_runs
    response = client_for("analyst").get(f"{LIST}?run={second.code}&change=created")
    text = response.content.decode()
    assert "Sync run: aws-changes @" in text and "Change in run: Created" in text


def test_it_filters_with_as_many_queries_for_many_rows_as_for_few(client_for, source):
    client = client_for("analyst")
    small = sync_records(source, recs(3))
    with CaptureQueriesContext(connection) as few:
        page_names(client, f"run={small.code}&change=created")
    large = sync_records(SourceFactory(name="other"), recs(40, start=100))
    with CaptureQueriesContext(connection) as many:
        assert len(page_names(client, f"run={large.code}&change=created")) == 40
    assert len(few.captured_queries) == len(many.captured_queries)


def test_it_filters_through_an_unordered_semi_join(three_runs):
    _, second = three_runs
    fs = IdentityFilterSet(QueryDict(f"run={second.code}&change=created"),
                           queryset=Identity.objects.all())
    sql = str(fs.qs.query)
    # An IN (subquery) on the change log's (run, kind, identity) index: no DISTINCT, and
    # no ORDER BY inside, which would sort every change of a large run (seconds at 1M).
    assert '"inventory_syncchange"' in sql and "DISTINCT" not in sql
    assert 'FROM "inventory_syncchange" U0' in sql and "ORDER BY U0" not in sql
