"""The owner link page: GET renders and changes nothing, POST decides, decisions act."""

from datetime import UTC, datetime

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client

from inventory.models import Identity
from nhigov.models import AuditEvent
from reviews import mailing
from reviews.models import Attestation, Delivery, Remediation
from tests.factories import UserFactory
from tests.reviews.conftest import make_campaign
from tests.reviews.helpers import links

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(org):
    campaign = make_campaign()
    mailing.send_due()
    by = {m.to[0]: links(m) for m in mail.outbox}
    mail.outbox.clear()
    return campaign, by


def task(campaign, identity, person) -> Attestation:
    return Attestation.objects.get(campaign=campaign, identity=identity, reviewer=person)


def test_it_renders_the_identity_and_changes_nothing_on_get(org, sent):
    campaign, by = sent
    client = Client()
    before = Identity.objects.values().get(pk=org["both"].pk)
    response = client.get(by["alice@example.test"]["svc-payments-api"])
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("svc-payments-api", "Admin", "aws-prod", "Production", "Compute",
                 "alice@example.test", "bob@example.test", "Charges cards",
                 "Is it still needed?", "Who maintains it?", "minimum set of permissions"):
        assert text in page
    assert task(campaign, org["both"], org["alice"]).status == "pending"
    assert Identity.objects.values().get(pk=org["both"].pk) == before
    assert not Session.objects.exists()
    assert "sessionid" not in response.cookies
    assert response["Cache-Control"].startswith("max-age=0")
    opened = AuditEvent.objects.get(action="attestation.link_open")
    assert (opened.actor_type, opened.actor) == ("owner_link", "alice@example.test")


def test_it_attests_when_both_owners_confirm(org, sent):
    campaign, by = sent
    client = Client()
    response = client.post(by["alice@example.test"]["svc-payments-api"],
                           {"decision": "confirm", "still_needed": "yes"})
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    assert Identity.objects.get(pk=org["both"].pk).last_attested_at is None  # one of two
    client.post(by["bob@example.test"]["svc-payments-api"], {"decision": "confirm"})
    identity = Identity.objects.get(pk=org["both"].pk)
    assert identity.last_attested_at is not None
    assert (identity.next_review_due - identity.last_attested_at.date()).days == 90
    assert not Session.objects.exists()
    event = AuditEvent.objects.get(action="identity.attest")
    assert event.actor_type == "owner_link"


def test_it_applies_corrections_on_confirm_through_the_register_editor(org, sent):
    campaign, by = sent
    Client().post(by["alice@example.test"]["svc-ledger-reader"], {
        "decision": "confirm", "purpose": "Reads the ledger for reports", "zone": "storage",
        "expires_on": "2030-01-31", "comment": "Purpose was missing"})
    identity = Identity.objects.get(pk=org["tech_only"].pk)
    assert identity.purpose == "Reads the ledger for reports"
    assert identity.zone == "storage"
    assert identity.expires_at == datetime(2030, 1, 31, tzinfo=UTC)
    assert identity.last_attested_at is not None  # its only owner confirmed
    update = AuditEvent.objects.get(action="identity.update")
    assert update.reason == "Purpose was missing"
    assert update.after["zone"] == "storage"


def test_it_marks_a_revoked_identity_for_deprovisioning_with_a_remediation(org, sent, users):
    campaign, by = sent
    response = Client().post(by["bob@example.test"]["svc-payments-api"], {
        "decision": "revoke", "still_needed": "no", "comment": "Project ended in June"})
    assert response.status_code == 200
    identity = Identity.objects.get(pk=org["both"].pk)
    assert identity.deprovision_requested_at is not None
    assert identity.last_attested_at is None
    item = Remediation.objects.get(identity=identity)
    assert (item.kind, item.status, item.assignee) == ("deprovision", "open", users["analyst"])
    assert item.details == "Project ended in June"
    # The technical owner's later confirmation does not overrule a revoke.
    Client().post(by["alice@example.test"]["svc-payments-api"], {"decision": "confirm"})
    assert Identity.objects.get(pk=identity.pk).last_attested_at is None


def test_it_reassigns_to_a_colleague_who_gets_a_task_and_an_email(org, sent, committed):
    campaign, by = sent
    with committed():
        response = Client().post(by["alice@example.test"]["svc-ledger-reader"], {
            "decision": "reassign", "new_owner": "CAROL@example.test",
            "comment": "Carol runs the ledger now"})
    assert response.status_code == 200
    identity = Identity.objects.get(pk=org["tech_only"].pk)
    assert identity.technical_owner == org["carol"]
    edit = AuditEvent.objects.get(action="identity.update")
    assert edit.reason == "Carol runs the ledger now"
    assert edit.after == {"technical_owner": "carol@example.test"}
    new = Attestation.objects.get(campaign=campaign, reviewer=org["carol"])
    assert new.status == "pending" and new.reassigned_from.reviewer == org["alice"]
    assert new.snapshot["technical_owner"] == "carol@example.test"
    assert [m.to for m in mail.outbox] == [["carol@example.test"]]
    assert "handed to you" in mail.outbox[0].subject
    carol_link = links(mail.outbox[0])["svc-ledger-reader"]
    Client().post(carol_link, {"decision": "confirm"})
    assert Identity.objects.get(pk=identity.pk).last_attested_at is not None


def test_it_refuses_to_reassign_to_an_unknown_person(org, sent):
    campaign, by = sent
    response = Client().post(by["alice@example.test"]["svc-ledger-reader"], {
        "decision": "reassign", "new_owner": "stranger@evil.test", "comment": "x"})
    assert response.status_code == 400
    assert "No active person" in response.content.decode()
    assert task(campaign, org["tech_only"], org["alice"]).status == "pending"


def test_it_turns_a_change_request_into_a_remediation_item(org, sent):
    campaign, by = sent
    Client().post(by["alice@example.test"]["svc-payments-api"], {
        "decision": "change", "minimum_permissions": "s3:GetObject on payments-reports",
        "comment": "Drop the admin policy"})
    item = Remediation.objects.get(identity=org["both"])
    assert item.kind == "change"
    assert "s3:GetObject" in item.details and "Drop the admin policy" in item.details


def test_it_requires_a_comment_unless_confirming(org, sent):
    campaign, by = sent
    response = Client().post(by["alice@example.test"]["svc-payments-api"], {"decision": "revoke"})
    assert response.status_code == 400
    assert "Say why" in response.content.decode()
    assert task(campaign, org["both"], org["alice"]).status == "pending"


def test_it_answers_many_from_the_all_tasks_page(org, sent):
    campaign, by = sent
    client = Client()
    page = client.get(by["alice@example.test"]["all"])
    assert page.status_code == 200
    assert "svc-payments-api" in page.content.decode()
    assert AuditEvent.objects.filter(action="review_link.open").count() == 1
    both = task(campaign, org["both"], org["alice"])
    ledger = task(campaign, org["tech_only"], org["alice"])
    response = client.post(by["alice@example.test"]["all"], {
        f"decision-{both.code}": "confirm", f"decision-{ledger.code}": "revoke",
        f"comment-{ledger.code}": ""})
    assert response.status_code == 400  # the revoke needs a comment
    assert Attestation.objects.get(pk=both.pk).decision == "confirm"
    assert Attestation.objects.get(pk=ledger.pk).status == "pending"
    response = client.post(by["alice@example.test"]["all"], {
        f"decision-{ledger.code}": "revoke", f"comment-{ledger.code}": "Unused"})
    assert response.status_code == 200
    assert "Nothing left to review" in response.content.decode()
    assert Attestation.objects.get(pk=ledger.pk).decision == "revoke"
    # The all-tasks link stays usable while the campaign is open; the page is just empty.
    assert client.get(by["alice@example.test"]["all"]).status_code == 200


def test_it_opens_one_task_from_the_all_tasks_page_for_reassignment(org, sent):
    campaign, by = sent
    ledger = task(campaign, org["tech_only"], org["alice"])
    url = f"{by['alice@example.test']['all']}{ledger.code}/"
    assert Client().get(url).status_code == 200
    response = Client().post(url, {"decision": "reassign", "new_owner": "carol@example.test",
                                   "comment": "Carol's now"})
    assert response.status_code == 200
    assert "Back to all your reviews" in response.content.decode()
    assert Identity.objects.get(pk=org["tech_only"].pk).technical_owner == org["carol"]


def test_it_never_logs_in_even_a_user_with_a_portal_account(org, sent):
    UserFactory(username="alice@example.test", role="owner")
    campaign, by = sent
    client = Client()
    client.post(by["alice@example.test"]["svc-payments-api"], {"decision": "confirm"})
    assert not Session.objects.exists()
    assert client.get("/reviews/").status_code == 302  # still anonymous: to the login page


def test_it_records_deliveries_as_sent(org, sent):
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
