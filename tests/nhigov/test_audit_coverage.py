"""Every kind of change lands in the audit chain with who, what, why, before/after and the
request (or background run) it came from. One test per area, through its real entry point.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from inventory.models import Identity
from inventory.risk.engine import evaluate_all
from nhigov.lib.audit import verify_chain
from nhigov.models import AuditEvent
from reviews import mailing
from reviews.models import Remediation
from reviews.tasks import resolve_remediations
from tests.factories import IdentityFactory, PersonFactory, TeamFactory
from tests.reviews.conftest import _fresh_rate_limits, make_campaign, org  # noqa: F401
from tests.reviews.helpers import links

pytestmark = pytest.mark.django_db
RID = "audit-trace-0001"


def only(action: str) -> AuditEvent:
    return AuditEvent.objects.get(action=action)


# --- logins -----------------------------------------------------------------------------


def test_it_records_sign_in_sign_out_and_failures_without_secrets(users):
    client = Client()
    client.post("/accounts/login/", {"login": "auditor@example.test",
                                     "password": "correct-horse-battery"}, HTTP_X_REQUEST_ID=RID)
    login = only("auth.login")
    assert (login.actor, login.actor_user_id, login.request_id) == (
        "auditor@example.test", users["auditor"].pk, RID)
    assert (login.object_type, login.object_id) == ("user", str(users["auditor"].pk))
    assert login.after["ip"] == "127.0.0.1"
    client.post("/accounts/logout/")
    assert only("auth.logout").actor_user_id == users["auditor"].pk

    Client().post("/accounts/login/", {"login": "auditor@example.test",
                                       "password": "wrong-password-123"})
    Client().post("/accounts/login/", {"login": "nobody@example.test",
                                       "password": "wrong-password-456"})
    known, unknown = AuditEvent.objects.filter(action="auth.login_failed").order_by("id")
    assert (known.object_id, known.object_repr) == (str(users["auditor"].pk),
                                                    "auditor@example.test")
    assert known.actor.startswith("anonymous") and known.actor_user_id is None
    assert (unknown.object_id, unknown.object_repr) == ("", "unknown account")
    chain = str(list(AuditEvent.objects.values()))
    for secret in ("correct-horse-battery", "wrong-password", "nobody@"):
        assert secret not in chain
    assert verify_chain().ok


def test_force_login_in_tests_is_not_an_audited_sign_in(client_for):
    client_for("auditor").get("/")
    assert not AuditEvent.objects.filter(action__startswith="auth.").exists()


# --- identities, bulk edits and exports ------------------------------------------------


def test_an_identity_edit_is_recorded_with_before_after_reason_and_request(client_for, users):
    identity = IdentityFactory(purpose="", zone="compute")
    response = client_for("analyst").post(f"/identities/{identity.code}/edit/", {
        "purpose": "Nightly billing export", "zone": "storage",
        "environment": identity.environment_id, "reason": "Ticket OPS-42"},
        HTTP_X_REQUEST_ID=RID)
    assert response.status_code == 302
    event = only("identity.update")
    assert (event.actor, event.actor_user_id, event.request_id, event.reason) == (
        "analyst@example.test", users["analyst"].pk, RID, "Ticket OPS-42")
    assert (event.object_type, event.object_id) == ("identity", str(identity.code))
    assert event.before["zone"] == "compute" and event.after["zone"] == "storage"
    assert event.after["purpose"] == "Nightly billing export"


def test_a_bulk_edit_records_one_event_per_identity_in_one_request(client_for):
    rows = [IdentityFactory(zone="compute") for _ in range(3)]
    client_for("analyst").post("/identities/bulk/", {
        "field": "zone", "value": "storage", "scope": "selected", "filter_query": "",
        "selected": [str(i.code) for i in rows], "reason": "Zone clean-up"},
        HTTP_X_REQUEST_ID=RID)
    events = AuditEvent.objects.filter(action="identity.bulk_update")
    assert {e.object_id for e in events} == {str(i.code) for i in rows}
    assert {(e.request_id, e.reason, e.before["zone"], e.after["zone"]) for e in events} == {
        (RID, "Zone clean-up", "compute", "storage")}
    assert Identity.objects.filter(zone="storage").count() == 3


def test_a_register_export_is_recorded(client_for):
    response = client_for("auditor").get("/identities/export.csv?zone=storage",
                                         HTTP_X_REQUEST_ID=RID)
    b"".join(response.streaming_content)
    event = only("identity.export")
    assert (event.actor, event.request_id) == ("auditor@example.test", RID)
    assert event.after == {"filter": "zone=storage"}


# --- ownership, sources, policies, findings --------------------------------------------


def test_a_person_created_through_the_api_is_recorded(client_for):
    team = TeamFactory()
    response = client_for("analyst").post("/api/v1/people/", {
        "email": "new.owner@example.test", "name": "New Owner", "team": str(team.code),
        "reason": "Joined payments"}, content_type="application/json", HTTP_X_REQUEST_ID=RID)
    assert response.status_code == 201, response.content
    event = only("person.create")
    assert (event.request_id, event.reason, event.after["email"]) == (
        RID, "Joined payments", "new.owner@example.test")


def test_a_source_created_on_its_page_is_recorded(client_for):
    response = client_for("admin").post("/sources/new/", {
        "name": "vault-prod", "kind": "vault", "schedule": "0 * * * *", "enabled": "on",
        "missing_threshold": "0.2", "reason": "new vault cluster",
        "config": '{"url": "https://vault.internal:8200", "token_env": "VT"}'},
        HTTP_X_REQUEST_ID=RID)
    assert response.status_code == 302
    event = only("source.create")
    assert (event.actor, event.request_id, event.reason) == (
        "admin@example.test", RID, "new vault cluster")
    assert event.after["name"] == "vault-prod" and event.before == {}


def test_a_policy_change_is_recorded(client_for):
    from inventory.risk import policy as policies

    text = policies.default_document().replace("  dormant_days: 90 ", "  dormant_days: 120 ")
    client_for("admin").post("/risk/policy/edit/", {"document": text, "reason": "Batch jobs"},
                             HTTP_X_REQUEST_ID=RID)
    event = only("policy.update")
    assert (event.actor, event.request_id, event.reason) == ("admin@example.test", RID,
                                                             "Batch jobs")


def test_an_acceptance_of_a_finding_is_recorded(client_for):
    identity = IdentityFactory(purpose="")
    evaluate_all("test")
    finding = identity.findings.get(rule="ownership.no_purpose")
    until = (timezone.localdate() + timedelta(days=30)).isoformat()
    client_for("analyst").post(f"/findings/{finding.code}/accept/", {
        "until": until, "reason": "Purpose confirmed, OPS-7"}, HTTP_X_REQUEST_ID=RID)
    event = only("finding.accept")
    assert (event.actor, event.request_id, event.reason) == (
        "analyst@example.test", RID, "Purpose confirmed, OPS-7")
    assert event.after["rule"] == "ownership.no_purpose"
    # The evaluation that opened it is background work with a run id.
    evaluation = only("risk.evaluate")
    assert evaluation.actor_type == "system" and evaluation.request_id


# --- campaigns, owner links, attestations, background work -----------------------------


def test_a_campaign_opened_on_its_page_is_recorded(client_for, eager_celery):
    IdentityFactory(technical_owner=PersonFactory())
    client_for("analyst").post("/reviews/campaigns/new/", {
        "name": "Admins", "scope": "", "outcome_rule": "any_confirm", "reminder_days": "3",
        "due_date": (timezone.localdate() + timedelta(days=10)).isoformat()},
        HTTP_X_REQUEST_ID=RID)
    event = only("campaign.open")
    assert (event.actor, event.request_id, event.object_repr) == (
        "analyst@example.test", RID, "Admins")


def test_owner_link_opens_and_decisions_are_recorded_as_the_owner(org, eager_celery):  # noqa: F811
    make_campaign()
    mailing.send_due()
    link = links(next(m for m in mail.outbox if m.to == ["bob@example.test"]))[
        "svc-payments-api"]
    client = Client()
    client.get(link, HTTP_X_REQUEST_ID="owner-open-0001")
    client.post(link, {"decision": "revoke", "still_needed": "no",
                       "comment": "Project ended"}, HTTP_X_REQUEST_ID=RID)
    opened, decided = only("attestation.link_open"), only("attestation.decide")
    assert opened.request_id == "owner-open-0001"
    for event in (opened, decided):
        assert (event.actor_type, event.actor) == ("owner_link", "bob@example.test")
    assert decided.request_id == RID and decided.after["decision"] == "revoke"
    assert "Project ended" in (decided.reason + str(decided.after))
    assert token_not_in_chain(link)


def token_not_in_chain(link: str) -> bool:
    token = link.rstrip("/").split("/")[2]
    return token not in str(list(AuditEvent.objects.values()))


def test_background_work_is_recorded_as_the_system_with_its_run_id(org, eager_celery):  # noqa: F811
    identity = org["both"]
    Remediation.objects.create(kind="deprovision", identity=identity, requested_by="test")
    Identity.objects.filter(pk=identity.pk).update(status="missing")
    result = resolve_remediations.apply()
    event = only("remediation.resolve")
    assert (event.actor_type, event.actor) == ("system", "review reconciler")
    assert event.request_id == result.id  # the Celery task id leads to the worker's log
