"""Management commands call the same functions as the pages and beat."""

import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from reviews.models import Campaign

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_opens_a_campaign_and_sends_its_mail(org):
    output = run("open_campaign", "Admins", "--scope", "privilege=admin", "--due", "2099-01-31")
    assert "1 identities, 2 owner tasks" in output
    campaign = Campaign.objects.get()
    assert str(campaign.due_date) == "2099-01-31"
    summary = json.loads(run("review_mail"))
    assert summary["sent"] == 2 and len(mail.outbox) == 2


def test_it_refuses_a_bad_scope(org):
    with pytest.raises(CommandError, match="Unknown register filter"):
        run("open_campaign", "x", "--scope", "nope=1")


def test_it_opens_the_scheduled_campaign_once(org, settings):
    settings.REVIEWS_SCHEDULE_MONTHS = list(range(1, 13))
    assert "Opened" in run("open_campaign", "--scheduled")
    assert "Nothing to open" in run("open_campaign", "--scheduled")
    assert Campaign.objects.get().kind == "scheduled"
