"""Owner and escalation emails: one per owner per campaign, text and HTML, links that work."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from reviews import mailing
from reviews.models import Delivery, ReviewLink
from reviews.tokens import digest
from tests.factories import IdentityFactory
from tests.reviews.conftest import make_campaign
from tests.reviews.helpers import LINK, links, text_and_html

pytestmark = pytest.mark.django_db


def test_it_sends_one_email_per_owner_listing_all_their_identities(org):
    for n in range(5):
        IdentityFactory(name=f"svc-batch-{n}", technical_owner=org["alice"])
    campaign = make_campaign()
    summary = mailing.send_due()
    assert summary["sent"] == 2
    by_person = {m.to[0]: m for m in mail.outbox}
    assert set(by_person) == {"alice@example.test", "bob@example.test"}
    alice = by_person["alice@example.test"]
    assert "Please review 7 identities you own" in alice.subject
    text, html = text_and_html(alice)
    found = links(alice)
    assert set(found) == {"all", "svc-payments-api", "svc-ledger-reader",
                          *{f"svc-batch-{n}" for n in range(5)}}
    for path in found.values():
        assert path in html  # the same links in both parts
    assert "svc-batch-3" in html and "Answer all 7 on one page" in html
    assert campaign.name in text and campaign.name in html
    assert "do not sign you in" in text
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_it_stores_only_a_keyed_hash_of_each_token(org):
    make_campaign()
    mailing.send_due()
    message = mail.outbox[0]
    tokens = set(LINK.findall(message.body))
    assert all(len(t) == 43 for t in tokens)  # 256 bits, URL-safe
    stored = set(ReviewLink.objects.values_list("token_hash", flat=True))
    assert not tokens & stored
    assert {digest(t) for t in tokens} <= stored


def test_it_reminds_only_owners_with_something_pending(org, monkeypatch):
    from nhigov.lib.audit import Actor
    from reviews.decisions import Answer, decide

    campaign = make_campaign(days=10)
    mailing.send_due()
    bob_task = campaign.tasks.get(reviewer=org["bob"])
    decide(bob_task, Answer("confirm"), Actor.system("t"))
    mail.outbox.clear()
    later = campaign.deadline - timedelta(days=6)
    monkeypatch.setattr(timezone, "now", lambda: later)
    summary = mailing.mail_cycle(later)
    assert summary["reminders"] == 1
    assert [m.to for m in mail.outbox] == [["alice@example.test"]]
    assert mail.outbox[0].subject.startswith("Reminder: 2 identities to review")
    assert "Reminder" in text_and_html(mail.outbox[0])[1]
    assert mailing.mail_cycle(later)["reminders"] == 0  # once per reminder time


def test_it_escalates_after_the_deadline_to_lead_and_security(org, monkeypatch, settings):
    settings.REVIEWS_SECURITY_EMAIL = "sec@example.test"
    campaign = make_campaign(days=3)
    mailing.send_due()
    mail.outbox.clear()
    after = campaign.deadline + timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: after)
    summary = mailing.mail_cycle(after)
    assert summary["escalations"] == 2
    by = {m.to[0]: m for m in mail.outbox}
    assert set(by) == {"sec@example.test", "lena.lead@example.test"}
    lead_text, lead_html = text_and_html(by["lena.lead@example.test"])
    assert "alice@example.test: 2 pending" in lead_text
    assert "svc-ledger-reader" in lead_html
    sec_text, _ = text_and_html(by["sec@example.test"])
    assert "2 identities have no active owner" in sec_text
    assert "Overdue: 3 identity reviews" in by["sec@example.test"].subject
    mail.outbox.clear()
    assert mailing.mail_cycle(after)["escalations"] == 0
    assert mail.outbox == []


def test_it_sends_past_one_batch_in_one_run(org, settings):
    from tests.factories import PersonFactory

    settings.REVIEWS_MAIL_BATCH = 2
    for _ in range(5):
        IdentityFactory(technical_owner=PersonFactory(team=org["team"]))
    make_campaign()
    assert mailing.send_due()["sent"] == 7
    assert mailing.send_due(limit=3)["sent"] == 0


def test_it_moves_a_departed_owners_tasks_to_triage(org):
    from ownership.models import Person

    campaign = make_campaign()
    Person.objects.filter(pk=org["bob"].pk).update(is_active=False)
    assert mailing.mail_cycle()["retriaged"] == 1
    task = campaign.tasks.get(reviewer=org["bob"])
    assert task.status == "triage"
    assert "bob@example.test" not in [m.to[0] for m in mail.outbox]
