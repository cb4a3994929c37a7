"""Overlapping scheduler runs never send twice: each email is queued once (unique key)
and claimed once (optimistic UPDATE) however the runs interleave."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from reviews import mailing, tasks
from reviews.models import Delivery
from tests.factories import IdentityFactory, PersonFactory
from tests.reviews.conftest import make_campaign


def remind_time(campaign):
    return campaign.deadline - timedelta(days=7) + timedelta(minutes=5)


@pytest.mark.django_db
def test_it_sends_once_when_a_second_run_starts_in_the_middle_of_the_first(org, monkeypatch):
    for _n in range(4):
        IdentityFactory(technical_owner=PersonFactory(team=org["team"]))
    campaign = make_campaign(days=10)
    mailing.send_due()
    mail.outbox.clear()
    now = remind_time(campaign)
    monkeypatch.setattr(timezone, "now", lambda: now)
    real_send = mailing._send_one
    nested, started = [], []

    def send_then_overlap(delivery_id, conn):
        if not started:  # the first run is mid-batch when the second one starts
            started.append(True)
            nested.append(mailing.mail_cycle(now))
        return real_send(delivery_id, conn)

    monkeypatch.setattr(mailing, "_send_one", send_then_overlap)
    first = mailing.mail_cycle(now)
    owners = 2 + 4
    assert first["reminders"] == owners and nested[0]["reminders"] == 0
    assert first["sent"] + nested[0]["sent"] == owners
    assert first["claimed_elsewhere"] == owners - 1
    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == len(set(recipients)) == owners
    assert Delivery.objects.filter(kind="reminder", status="sent").count() == owners
    assert mailing.mail_cycle(now) == {"retriaged": 0, "reminders": 0, "escalations": 0,
                                       "sent": 0, "failed": 0, "skipped": 0,
                                       "claimed_elsewhere": 0}


@pytest.mark.django_db
def test_it_runs_the_beat_task_as_a_thin_wrapper(org, monkeypatch):
    campaign = make_campaign(days=10)
    tasks.send_campaign_mail(campaign.pk)
    mail.outbox.clear()
    now = remind_time(campaign)
    monkeypatch.setattr(timezone, "now", lambda: now)
    # apply() runs the task here, as the worker would, without needing one on the broker.
    summary = tasks.review_mail_cycle.apply().get()
    assert summary["reminders"] == 2 and summary["sent"] == 2


@pytest.mark.django_db(transaction=True)
def test_it_sends_once_from_two_concurrent_workers(org, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises the whole file)")
    for _n in range(20):
        IdentityFactory(technical_owner=PersonFactory(team=org["team"]))
    campaign = make_campaign(days=10)
    mailing.send_due()
    mail.outbox.clear()
    now = remind_time(campaign)
    start = threading.Barrier(2)
    results = []

    def worker():
        start.wait()
        try:
            results.append(mailing.mail_cycle(now))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    owners = 22
    assert sum(r["reminders"] for r in results) == owners
    assert sum(r["sent"] for r in results) == owners
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        set(Delivery.objects.filter(kind="reminder").values_list("recipient", flat=True)))
    assert len(mail.outbox) == owners
