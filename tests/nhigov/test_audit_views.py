"""The audit log page, its CSV and an identity's timeline."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from inventory.models import Finding, SyncChange, SyncRun
from nhigov.lib.audit import Actor, Change, make_checkpoint, record, record_many
from nhigov.models import AuditEvent
from reviews.campaigns import open_campaign
from tests.factories import CredentialFactory, IdentityFactory

pytestmark = pytest.mark.django_db


def seed(n: int, action: str = "identity.update", **kw) -> None:
    actor = Actor(AuditEvent.ActorType.USER, kw.pop("actor", "ana@example.test"), None,
                  kw.pop("request_id", ""))
    record_many(actor, [Change(action, kw.get("object_type", "identity"), f"obj-{i}",
                               f"svc-{i}", {"zone": "compute"}, {"zone": "storage"})
                        for i in range(n)], reason=kw.get("reason", "seed"))


def ids(response) -> list[int]:
    return [row[0].id for row in response.context["rows"]]


@pytest.mark.parametrize("role", ["admin", "analyst", "auditor"])
def test_it_shows_the_log_to_readers(client_for, role):
    seed(2)
    response = client_for(role).get("/audit/")
    assert response.status_code == 200
    assert b"svc-1" in response.content and b'data-testid="chain-status"' in response.content


def test_it_keeps_the_log_from_owners(client_for):
    assert client_for("owner").get("/audit/").status_code == 403
    assert client_for("owner").get("/audit/export.csv").status_code == 403


def test_it_filters_by_every_field(client_for):
    seed(3, actor="ana@example.test", request_id="req-aaaaaaaa")
    seed(2, action="source.update", actor="bob@example.test", object_type="source",
         reason="rotated the role")
    client = client_for("auditor")
    all_events = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True))
    assert ids(client.get("/audit/")) == all_events
    assert len(ids(client.get("/audit/?actor=bob@"))) == 2
    assert len(ids(client.get("/audit/?action=identity.update"))) == 3
    assert len(ids(client.get("/audit/?action=source."))) == 2
    assert len(ids(client.get("/audit/?action=source"))) == 0  # exact unless it ends in "."
    assert len(ids(client.get("/audit/?object_type=source&object_id=obj-1"))) == 1
    assert len(ids(client.get("/audit/?request_id=req-aaaaaaaa"))) == 3
    assert len(ids(client.get("/audit/?q=rotated"))) == 2
    today = timezone.localdate()
    assert len(ids(client.get(f"/audit/?since={today}&until={today}"))) == 5
    assert ids(client.get(f"/audit/?since={today + timedelta(days=1)}")) == []
    bad = client.get(f"/audit/?since={today}&until={today - timedelta(days=1)}")
    assert ids(bad) == [] and b"start date is after" in bad.content


def test_it_pages_by_keyset_with_constant_queries(client_for, settings,
                                                  django_assert_max_num_queries):
    settings.AUDIT_PAGE_SIZE = 10
    seed(25)
    client = client_for("auditor")
    first = client.get("/audit/")
    newest = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True))
    assert ids(first) == newest[:10]
    cursor = first.context["page"].next_cursor
    with django_assert_max_num_queries(12):
        second = client.get(f"/audit/?after={cursor}")
    assert ids(second) == newest[10:20]
    back = client.get(f"/audit/?before={second.context['page'].prev_cursor}")
    assert ids(back) == newest[:10]


def test_it_shows_the_chain_status_and_the_last_checkpoint(client_for):
    seed(3)
    cp = make_checkpoint()
    seed(1)
    response = client_for("auditor").get("/audit/")
    status = response.context["status"]
    assert status.result.ok and status.checkpoint == cp
    assert status.result.checkpoints[0].verified
    assert f"Last signed checkpoint #{cp.id}".encode() in response.content


def test_it_shows_a_broken_chain(client_for):
    seed(3)
    event = AuditEvent.objects.order_by("id")[1]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE nhigov_auditevent DISABLE TRIGGER nhigov_audit_no_change")
        cursor.execute("UPDATE nhigov_auditevent SET reason = 'x' WHERE id = %s", [event.id])
    response = client_for("auditor").get("/audit/")
    assert not response.context["status"].result.ok
    assert f"Event {event.id}: event content altered".encode() in response.content


def test_it_exports_the_filtered_log_formula_safe_and_audits_the_export(client_for):
    seed(2, reason="=HYPERLINK(\"http://evil\")")
    seed(1, action="source.update", object_type="source")
    response = client_for("auditor").get("/audit/export.csv?action=identity.update",
                                         HTTP_X_REQUEST_ID="export-req-0001")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2 and {r["action"] for r in rows} == {"identity.update"}
    assert all(r["reason"].startswith("'=HYPERLINK") for r in rows)
    assert rows[0]["after"] == '{"zone": "storage"}' and len(rows[0]["hash"]) == 64
    event = AuditEvent.objects.get(action="audit.export")
    assert (event.actor, event.request_id) == ("auditor@example.test", "export-req-0001")
    assert event.after == {"filter": {"action": "identity.update"}}


# --- timeline ---------------------------------------------------------------------------


@pytest.fixture
def story(owner_person, users):
    """One owned identity with an audit event, a sync change, a finding and a review."""
    identity = IdentityFactory(technical_owner=owner_person, name="svc-story")
    now = timezone.now()
    record(Actor.for_user(users["analyst"]), Change(
        "identity.update", "identity", identity.code, identity.name, {"zone": "compute"},
        {"zone": "storage"}), reason="moved to storage")
    run = SyncRun.objects.create(source=identity.source, status="succeeded",
                                 finished_at=now - timedelta(days=2))
    SyncChange.objects.create(run=run, identity=identity, kind="updated", fields=["path"])
    Finding.objects.create(identity=identity, rule="NHI7-rotation-overdue", severity="high",
                           first_detected_at=now - timedelta(days=1),
                           last_detected_at=now, opened_at=now - timedelta(days=1))
    open_campaign(name="Q4 review", scope="", due_date=(now + timedelta(days=14)).date(),
                  actor=Actor.system("test"))
    credential = CredentialFactory(identity=identity)
    record(Actor.for_user(users["admin"]), Change(
        "credential.update", "credential", credential.code, str(credential),
        {"status": "active"}, {"status": "inactive"}), reason="Django admin: Changed Status.")
    return identity


def test_it_shows_an_identitys_timeline_newest_first(client_for, story):
    response = client_for("auditor").get(f"/identities/{story.code}/timeline/")
    assert response.status_code == 200
    entries = response.context["entries"]
    assert {e.kind for e in entries} == {"audit", "sync", "finding", "attestation"}
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert b"moved to storage" in response.content and b"finding opened" in response.content
    assert "credential.update" in {e.title for e in entries}


def test_it_shows_owners_their_own_timeline_only(client_for, story):
    owner = client_for("owner")
    assert owner.get(f"/identities/{story.code}/timeline/").status_code == 200
    other = IdentityFactory(name="svc-not-theirs")
    assert owner.get(f"/identities/{other.code}/timeline/").status_code == 404


def test_it_links_the_timeline_from_identity_detail(client_for, story):
    page = client_for("owner").get(f"/identities/{story.code}/")
    assert f"/identities/{story.code}/timeline/".encode() in page.content


def test_the_page_checks_a_bounded_tail_of_the_chain(client_for, monkeypatch):
    from nhigov.lib import audit_log

    monkeypatch.setattr(audit_log, "PAGE_VERIFY_LIMIT", 3)
    seed(5)
    response = client_for("auditor").get("/audit/")
    status = response.context["status"]
    assert status.partial and status.result.ok and status.result.checked == 3
    assert b"manage.py verify_audit" in response.content


@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv"])
def test_it_refuses_the_last_representable_day_as_an_end_date(client_for, path):
    # The filter reads up to the next day's start, which 9999-12-31 does not have.
    response = client_for("auditor").get(path, {"until": "9999-12-31"})
    assert response.status_code == 200
    if path == "/audit/":
        assert "until" in response.context["form"].errors
