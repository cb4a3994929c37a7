"""Signed checkpoints: truncation, re-hashed chains and forged checkpoints are named."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from nhigov.lib.audit import Actor, Change, event_digest, make_checkpoint, record_many, verify_chain
from nhigov.lib.audit_tasks import audit_checkpoint
from nhigov.models import AuditCheckpoint, AuditEvent

pytestmark = pytest.mark.django_db
PG = connection.vendor == "postgresql"


def seed(n: int = 5, prefix: str = "id") -> list[AuditEvent]:
    record_many(Actor.system("test-run"), [
        Change("identity.update", "identity", f"{prefix}-{i}", f"svc-{i}", {"zone": "compute"},
               {"zone": "storage"}) for i in range(n)], reason="seed")
    return list(AuditEvent.objects.order_by("id"))


def raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def disable_triggers() -> None:
    """Simulate an attacker with table-owner rights (rolled back with the test)."""
    if PG:
        raw("ALTER TABLE nhigov_auditevent DISABLE TRIGGER nhigov_audit_no_change")
        raw("ALTER TABLE nhigov_auditcheckpoint DISABLE TRIGGER nhigov_checkpoint_no_change")


@pytest.fixture
def ed25519_key(tmp_path):
    """An Ed25519 signing key file configured as AUDIT_SIGNING_KEY_FILE; yields the PEM of
    its public half."""
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "audit-signing.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    old = settings.AUDIT_SIGNING_KEY_FILE
    settings.AUDIT_SIGNING_KEY_FILE = str(path)
    yield public
    settings.AUDIT_SIGNING_KEY_FILE = old


def test_it_signs_the_chain_end_with_hmac_when_no_key_file_is_set():
    events = seed(3)
    cp = make_checkpoint()
    assert (cp.last_event_id, cp.last_hash, cp.event_count) == (events[-1].id, events[-1].hash, 3)
    assert cp.algorithm == "hmac-sha256" and len(cp.signature) == 64
    assert settings.SECRET_KEY not in cp.signature + cp.key_id
    assert make_checkpoint() is None  # nothing new to sign
    seed(2, prefix="more")
    assert make_checkpoint().event_count == 5
    report = verify_chain()
    assert report.ok and report.checked == 5
    assert [c.verified for c in report.checkpoints] == [True, True]


def test_it_signs_with_ed25519_and_an_auditor_verifies_with_the_public_key(
        ed25519_key, tmp_path, capsys):
    seed(3)
    cp = make_checkpoint()
    assert cp.algorithm == "ed25519" and len(cp.signature) == 128
    call_command("verify_audit", "--print-public-key")
    assert capsys.readouterr().out.encode() == ed25519_key
    # Offline: no private key configured, only the exported public half.
    settings.AUDIT_SIGNING_KEY_FILE = ""
    assert "unknown Ed25519 key" in verify_chain().reason
    public = tmp_path / "audit.pub"
    public.write_bytes(ed25519_key)
    call_command("verify_audit", "--public-key", str(public))
    assert "1 signed checkpoints verified" in capsys.readouterr().out


def test_it_refuses_to_print_a_public_key_in_hmac_mode():
    with pytest.raises(CommandError, match="HMAC"):
        call_command("verify_audit", "--print-public-key")


def test_it_names_the_first_deleted_event_when_the_newest_ones_are_truncated():
    events = seed(5)
    make_checkpoint()
    disable_triggers()
    raw("DELETE FROM nhigov_auditevent WHERE id >= %s", [events[3].id])
    report = verify_chain()
    assert not report.ok
    assert report.first_bad_id == events[3].id
    assert "missing" in report.reason and report.checked == 3
    with pytest.raises(CommandError, match=f"broken at event {events[3].id}"):
        call_command("verify_audit")


def test_it_finds_a_row_altered_and_the_chain_rehashed_at_the_next_checkpoint():
    events = seed(5)
    cp = make_checkpoint()
    disable_triggers()
    # The attacker alters event 2 and recomputes every later hash, so links verify.
    raw("UPDATE nhigov_auditevent SET reason = 'nothing to see' WHERE id = %s", [events[1].id])
    prev = events[0].hash
    for event in AuditEvent.objects.filter(id__gte=events[1].id).order_by("id"):
        digest = event_digest(prev, event)
        raw("UPDATE nhigov_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
            [prev, digest, event.id])
        prev = digest
    report = verify_chain()
    assert report.bad_checkpoint_id == cp.id
    assert report.first_bad_id == events[-1].id
    assert "re-hashed" in report.reason


def test_it_detects_a_tampered_checkpoint_signature():
    seed(3)
    cp = make_checkpoint()
    disable_triggers()
    forged = ("0" if cp.signature[0] != "0" else "1") + cp.signature[1:]
    raw("UPDATE nhigov_auditcheckpoint SET signature = %s WHERE id = %s", [forged, cp.id])
    report = verify_chain()
    assert report.bad_checkpoint_id == cp.id
    assert "signature invalid" in report.reason
    with pytest.raises(CommandError, match="signature invalid"):
        call_command("verify_audit")


def test_it_detects_a_checkpoint_moved_to_hide_truncation():
    events = seed(5)
    cp = make_checkpoint()
    disable_triggers()
    raw("DELETE FROM nhigov_auditevent WHERE id >= %s", [events[3].id])
    raw("UPDATE nhigov_auditcheckpoint SET last_event_id = %s, last_hash = %s, event_count = 3 "
        "WHERE id = %s", [events[2].id, events[2].hash, cp.id])
    assert "signature invalid" in verify_chain().reason


def test_it_does_not_sign_a_broken_chain():
    events = seed(4)
    disable_triggers()
    raw("UPDATE nhigov_auditevent SET reason = 'x' WHERE id = %s", [events[2].id])
    assert make_checkpoint() is None
    assert not AuditCheckpoint.objects.exists()
    with pytest.raises(CommandError, match=f"event {events[2].id}"):
        call_command("audit_checkpoint")


def test_it_verifies_a_segment_and_its_link_to_the_event_before_it():
    events = seed(6)
    make_checkpoint()
    report = verify_chain(start_id=events[2].id, end_id=events[4].id)
    assert report.ok and report.checked == 3 and report.checkpoints == []
    data = verify_chain(start_id=events[3].id).as_dict()
    assert data["ok"] and data["checkpoints"][0]["last_event_id"] == events[-1].id
    assert data["checkpoints"][0]["verified"]
    disable_triggers()
    raw("UPDATE nhigov_auditevent SET reason = 'x' WHERE id = %s", [events[0].id])
    assert verify_chain(start_id=events[2].id).ok  # outside the segment
    raw("DELETE FROM nhigov_auditevent WHERE id = %s", [events[1].id])
    assert verify_chain(start_id=events[2].id).first_bad_id == events[1].id
    # A later segment links fine, but the signed count shows an event before it is gone.
    assert "events missing before" in verify_chain(start_id=events[3].id).reason


def test_it_streams_the_chain_in_chunks(django_assert_max_num_queries):
    seed(7)
    make_checkpoint()
    # 7 events in chunks of 2: four event queries and one for the checkpoints.
    with django_assert_max_num_queries(6):
        report = verify_chain(batch=2)
    assert report.ok and report.checked == 7


@pytest.mark.skipif(not PG, reason="trigger exists on PostgreSQL")
def test_it_refuses_update_and_delete_of_a_checkpoint():
    seed(1)
    cp = make_checkpoint()
    for sql in ("UPDATE nhigov_auditcheckpoint SET event_count = 9 WHERE id = %s",
                "DELETE FROM nhigov_auditcheckpoint WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            raw(sql, [cp.id])


def test_it_schedules_the_checkpoint_task_and_the_task_signs():
    entry = settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]
    assert entry["task"] == "nhigov.lib.audit_tasks.audit_checkpoint"
    assert entry["schedule"] == float(settings.AUDIT_CHECKPOINT_SECONDS)
    seed(2)
    result = audit_checkpoint.apply().get()
    assert result["event_count"] == 2
    assert audit_checkpoint.apply().get() == {"checkpoint": None}


def test_the_command_reports_an_empty_log_and_nothing_new(capsys):
    call_command("audit_checkpoint")
    assert "empty" in capsys.readouterr().out
    seed(1)
    call_command("audit_checkpoint")
    call_command("audit_checkpoint")
    assert "nothing new" in capsys.readouterr().out


def test_the_system_check_refuses_a_key_file_that_is_not_ed25519(tmp_path, settings):
    from nhigov.lib.audit_signing import check_signing_key

    assert check_signing_key() == []  # HMAC fallback: a documented choice, not flagged
    bad = tmp_path / "not-a-key.pem"
    bad.write_text("garbage")
    settings.AUDIT_SIGNING_KEY_FILE = str(bad)
    assert [e.id for e in check_signing_key()] == ["nhigov.E101"]


def test_it_does_not_sign_again_over_a_chain_rehashed_below_the_last_checkpoint():
    events = seed(5)
    make_checkpoint()
    seed(2, prefix="later")
    disable_triggers()
    # Altered below the checkpoint and re-hashed to the end: the new events link fine,
    # only the checkpoint's own event shows it.
    raw("UPDATE nhigov_auditevent SET reason = 'nothing to see' WHERE id = %s", [events[1].id])
    prev = events[0].hash
    for event in AuditEvent.objects.filter(id__gte=events[1].id).order_by("id"):
        digest = event_digest(prev, event)
        raw("UPDATE nhigov_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
            [prev, digest, event.id])
        prev = digest
    assert make_checkpoint() is None
    assert AuditCheckpoint.objects.count() == 1
    with pytest.raises(CommandError, match="re-hashed"):
        call_command("audit_checkpoint")


def test_it_counts_every_event_across_successive_checkpoints():
    seed(3)
    make_checkpoint()
    seed(4, prefix="more")
    second = make_checkpoint()
    assert second.event_count == 7 and verify_chain().ok
    assert all(cp.verified for cp in verify_chain().checkpoints)


def test_the_command_refuses_a_public_key_file_that_is_not_ed25519(tmp_path):
    seed(1)
    bogus = tmp_path / "key.pem"
    bogus.write_text("not a key")
    with pytest.raises(CommandError, match="--public-key"):
        call_command("verify_audit", "--public-key", str(bogus))
