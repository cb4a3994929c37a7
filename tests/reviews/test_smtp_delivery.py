"""Real messages through Django's SMTP backend to an aiosmtpd server on loopback: parse the
links out of what was delivered and complete each kind of decision through the page."""

import pytest
from django.test import Client

from inventory.models import Identity
from reviews import mailing
from reviews.models import Attestation, Delivery, Remediation
from tests.factories import IdentityFactory
from tests.reviews.conftest import make_campaign
from tests.reviews.helpers import links, text_and_html
from tests.reviews.smtp import smtp  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_it_delivers_real_messages_whose_links_complete_every_decision(org, users, smtp):  # noqa: F811
    IdentityFactory(name="svc-old-batch", technical_owner=org["alice"], team=org["team"])
    IdentityFactory(name="svc-too-broad", technical_owner=org["alice"], team=org["team"])
    campaign = make_campaign()
    assert mailing.send_due()["sent"] == 2
    assert len(smtp.messages) == 2
    alice_mail = smtp.to("alice@example.test")[0]
    text, html = text_and_html(alice_mail)
    assert alice_mail.is_multipart() and "Please review 4 identities" in alice_mail["Subject"]
    assert alice_mail["Auto-Submitted"] == "auto-generated"
    assert "svc-too-broad" in text and "svc-too-broad" in html
    alice = links(alice_mail)
    bob = links(smtp.to("bob@example.test")[0])
    client = Client()

    assert client.post(alice["svc-payments-api"], {"decision": "confirm"}).status_code == 200
    assert client.post(bob["svc-payments-api"], {"decision": "confirm"}).status_code == 200
    assert client.post(alice["svc-old-batch"], {
        "decision": "revoke", "comment": "Batch retired"}).status_code == 200
    assert client.post(alice["svc-too-broad"], {
        "decision": "change", "minimum_permissions": "read-only on bucket x",
        "comment": "Drop write"}).status_code == 200
    assert client.post(alice["svc-ledger-reader"], {
        "decision": "reassign", "new_owner": "carol@example.test",
        "comment": "Carol owns it"}).status_code == 200

    assert Identity.objects.get(name="svc-payments-api").last_attested_at is not None
    assert Identity.objects.get(name="svc-old-batch").deprovision_requested_at is not None
    assert set(Remediation.objects.values_list("identity__name", "kind")) == {
        ("svc-old-batch", "deprovision"), ("svc-too-broad", "change")}
    assert Identity.objects.get(name="svc-ledger-reader").technical_owner == org["carol"]

    mailing.send_due()  # the reassignment's email to Carol, over SMTP too
    carol = links(smtp.to("carol@example.test")[0])
    assert client.post(carol["svc-ledger-reader"], {"decision": "confirm"}).status_code == 200
    assert Identity.objects.get(name="svc-ledger-reader").last_attested_at is not None
    decided = campaign.tasks.filter(status="decided").values_list("decision", flat=True)
    assert sorted(decided) == ["change", "confirm", "confirm", "confirm", "reassign", "revoke"]


def test_it_retries_a_refused_send_and_shows_it_on_the_campaign_page(org, smtp, client_for):  # noqa: F811
    smtp.refuse = {"bob@example.test"}
    campaign = make_campaign()
    summary = mailing.send_due()
    assert (summary["sent"], summary["failed"]) == (1, 1)
    failed = Delivery.objects.get(recipient="bob@example.test")
    assert failed.status == "failed" and failed.attempts == 1
    assert "550" in failed.last_error and failed.next_attempt_at is not None
    page = client_for("analyst").get(campaign.get_absolute_url()).content.decode()
    assert "Emails that could not be sent" in page and "bob@example.test" in page

    assert mailing.send_due()["sent"] == 0  # not due again before its backoff
    smtp.refuse = set()
    client_for("analyst").post(f"/reviews/campaigns/{campaign.code}/retry/")
    failed.refresh_from_db()
    assert failed.status == "sent"
    assert len(smtp.to("bob@example.test")) == 1
    assert len(smtp.to("alice@example.test")) == 1  # never sent twice


def test_it_gives_up_after_the_last_attempt(org, smtp, settings, monkeypatch):  # noqa: F811
    from datetime import timedelta

    from django.utils import timezone

    settings.REVIEWS_MAIL_MAX_ATTEMPTS = 2
    smtp.refuse = {"bob@example.test"}
    make_campaign()
    mailing.send_due()
    later = timezone.now() + timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    mailing.send_due(now=later)
    bob = Delivery.objects.get(recipient="bob@example.test")
    assert (bob.status, bob.attempts, bob.next_attempt_at) == ("abandoned", 2, None)


def test_it_survives_an_unreachable_mail_server(org, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    make_campaign()
    summary = mailing.send_due()
    assert summary["failed"] == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {"failed"}
    assert Attestation.objects.filter(status="pending").count() == 3
