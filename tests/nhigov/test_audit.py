"""The audit log is hash-chained; tampering is found at the altered or missing row."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from nhigov.lib.audit import Actor, Change, record, record_many, verify_chain
from nhigov.models import AuditEvent

pytestmark = pytest.mark.django_db


def seed(n: int = 5) -> list[AuditEvent]:
    actor = Actor.system("test-run")
    record_many(actor, [Change("identity.update", "identity", f"id-{i}", f"svc-{i}",
                               {"zone": "compute"}, {"zone": "storage"}) for i in range(n)],
                reason="seed")
    return list(AuditEvent.objects.order_by("id"))


def raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_it_chains_each_event_to_the_previous_one():
    events = seed(3)
    record(Actor.system("later"), Change("source.update", "source", "s1"), reason="second batch")
    events = list(AuditEvent.objects.order_by("id"))
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    report = verify_chain()
    assert report.ok and report.checked == 4
    call_command("verify_audit")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigger exists on PostgreSQL")
def test_it_refuses_update_and_delete_on_postgresql():
    event = seed(1)[0]
    for sql in ("UPDATE nhigov_auditevent SET reason = 'x' WHERE id = %s",
                "DELETE FROM nhigov_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            raw(sql, [event.id])


def _disable_trigger():
    if connection.vendor == "postgresql":
        raw("ALTER TABLE nhigov_auditevent DISABLE TRIGGER nhigov_audit_no_change", [])


def test_it_names_the_altered_event():
    events = seed(5)
    _disable_trigger()  # simulate an attacker with table-owner rights
    raw("UPDATE nhigov_auditevent SET reason = 'nothing to see' WHERE id = %s", [events[2].id])
    report = verify_chain()
    assert not report.ok
    assert report.first_bad_id == events[2].id
    assert report.problem == "event content altered"
    with pytest.raises(CommandError, match=f"broken at event {events[2].id}"):
        call_command("verify_audit")


def test_it_names_the_survivor_when_the_first_events_are_deleted():
    events = seed(3)
    _disable_trigger()
    raw("DELETE FROM nhigov_auditevent WHERE id = %s", [events[0].id])
    report = verify_chain()
    assert (report.first_bad_id, report.checked) == (events[1].id, 0)
    assert report.reason.startswith(f"events before event {events[1].id} missing")


@pytest.mark.parametrize("index", [1, 3])
def test_it_names_a_deleted_event(index):
    events = seed(5)
    _disable_trigger()
    raw("DELETE FROM nhigov_auditevent WHERE id = %s", [events[index].id])
    report = verify_chain()
    assert report.first_bad_id == events[index].id
    assert report.reason == (f"event {events[index].id} missing: event {events[index + 1].id} "
                             "links to an event that is no longer in the chain")
    with pytest.raises(CommandError, match=f"broken at event {events[index].id}"):
        call_command("verify_audit")


def test_it_names_an_event_whose_link_was_rewritten():
    events = seed(4)
    _disable_trigger()
    raw("UPDATE nhigov_auditevent SET prev_hash = %s WHERE id = %s", ["f" * 64, events[2].id])
    report = verify_chain()
    assert (report.first_bad_id, report.reason) == (events[2].id,
                                                    "previous event missing or altered")


def test_it_audits_a_bulk_update_and_finds_one_altered_row_in_it():
    from inventory.editing import bulk_assign
    from inventory.models import Identity
    from tests.factories import IdentityFactory

    for _ in range(4):
        IdentityFactory(zone="compute")
    changed = bulk_assign(Identity.objects.all(), "zone", "storage",
                          Actor.system("bulk test"), "zone clean-up")
    events = list(AuditEvent.objects.filter(action="identity.bulk_update").order_by("id"))
    assert changed == len(events) == 4 and verify_chain().ok
    _disable_trigger()
    raw("UPDATE nhigov_auditevent SET after = %s WHERE id = %s",
        ['{"zone": "access"}', events[2].id])
    report = verify_chain()
    assert (report.first_bad_id, report.reason) == (events[2].id, "event content altered")


def test_it_records_nothing_when_the_change_rolls_back():
    with pytest.raises(RuntimeError), transaction.atomic():
        record(Actor.system("t"), Change("identity.update", "identity", "x"), reason="r")
        raise RuntimeError("change failed after the audit call")
    assert not AuditEvent.objects.exists()


def test_it_stamps_events_after_taking_the_chain_lock(monkeypatch):
    # A writer that waited for the lock must not date its events before the ones it
    # follows: `at` is taken once the chain's end is known.
    import nhigov.lib.audit as audit

    calls = []
    last_hash, now = audit._last_hash, audit.timezone.now
    monkeypatch.setattr(audit, "_last_hash", lambda: calls.append("lock") or last_hash())
    monkeypatch.setattr(audit.timezone, "now", lambda: calls.append("now") or now())
    seed(2)
    assert calls[:2] == ["lock", "now"]
