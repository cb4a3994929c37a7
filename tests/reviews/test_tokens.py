"""Link security: reuse, expiry (the clock moved past the deadline), wrong recipient,
tampered tokens, closed campaigns, rate limits; refusals audited, nothing decided."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.utils import timezone

from nhigov.lib.audit import Actor
from nhigov.models import AuditEvent
from reviews import mailing
from reviews.campaigns import close_campaign
from reviews.models import Attestation, ReviewLink
from reviews.tokens import Problem, check, new_token
from tests.reviews.conftest import make_campaign
from tests.reviews.helpers import links

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(org):
    campaign = make_campaign(days=5)
    mailing.send_due()
    by = {m.to[0]: links(m) for m in mail.outbox}
    return campaign, by


def refusals() -> list[str]:
    return [e.after["problem"] for e in AuditEvent.objects.filter(action="review_link.refused")]


def states(campaign) -> list[tuple[str, str]]:
    return list(campaign.tasks.order_by("id").values_list("status", "decision"))


def test_it_makes_256_bit_tokens_and_never_repeats(db):
    made = {new_token()[0] for _ in range(1000)}
    assert len(made) == 1000 and all(len(t) == 43 for t in made)


def test_it_refuses_a_link_used_once_already(org, sent):
    campaign, by = sent
    url = by["alice@example.test"]["svc-ledger-reader"]
    assert Client().post(url, {"decision": "confirm"}).status_code == 200
    again = Client().post(url, {"decision": "revoke", "comment": "changed my mind"})
    assert again.status_code == 410
    assert "already answered" in again.content.decode()
    assert Client().get(url).status_code == 410
    task = Attestation.objects.get(identity=org["tech_only"])
    assert task.decision == "confirm"
    assert ReviewLink.objects.get(attestation=task).used_at is not None
    assert refusals() == ["used", "used"]


def test_it_expires_links_at_the_deadline(org, sent, monkeypatch):
    campaign, by = sent
    url = by["alice@example.test"]["svc-ledger-reader"]
    before = states(campaign)
    just_before = campaign.deadline - timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: just_before)
    assert Client().get(url).status_code == 200
    monkeypatch.setattr(timezone, "now", lambda: campaign.deadline + timedelta(minutes=1))
    for response in (Client().get(url), Client().post(url, {"decision": "confirm"}),
                     Client().get(by["alice@example.test"]["all"])):
        assert response.status_code == 410
        assert "expired" in response.content.decode()
    assert states(campaign) == before
    assert refusals() == ["expired"] * 3


def test_it_refuses_a_task_of_someone_else_through_an_all_tasks_link(org, sent):
    campaign, by = sent
    bobs = Attestation.objects.get(campaign=campaign, reviewer=org["bob"])
    url = f"{by['alice@example.test']['all']}{bobs.code}/"
    assert Client().get(url).status_code == 403
    response = Client().post(url, {"decision": "confirm"})
    assert response.status_code == 403
    assert "belongs to someone else" in response.content.decode()
    # Posting Bob's task on Alice's all-tasks page is ignored: only her own rows count.
    Client().post(by["alice@example.test"]["all"], {f"decision-{bobs.code}": "confirm"})
    assert Attestation.objects.get(pk=bobs.pk).status == "pending"
    assert refusals() == ["wrong_recipient", "wrong_recipient"]


def test_it_refuses_a_task_link_bound_to_another_recipient(org, sent):
    campaign, by = sent
    link = ReviewLink.objects.filter(person=org["alice"], attestation__isnull=False).first()
    link.person = org["bob"]  # a link whose recipient is not the task's reviewer
    link.save()
    assert check_problem_for(link) == Problem.WRONG_RECIPIENT


def check_problem_for(link) -> str:
    from reviews.tokens import problem_with

    return problem_with(ReviewLink.objects.select_related("campaign", "attestation").get(
        pk=link.pk))


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character changed
    lambda t: t[:-2],                                    # truncated
    lambda t: t + "x",                                   # extended
    lambda t: "A" * 43,                                  # well-formed, never issued
])
def test_it_refuses_a_tampered_token(org, sent, mangle):
    campaign, by = sent
    token = by["alice@example.test"]["svc-ledger-reader"].split("/")[2]
    before = states(campaign)
    url = f"/review/{mangle(token)}/"
    assert Client().get(url).status_code == 404
    assert Client().post(url, {"decision": "confirm"}).status_code == 404
    assert states(campaign) == before
    assert refusals() == ["invalid", "invalid"]
    assert check(mangle(token)).problem == Problem.INVALID


def test_it_refuses_links_of_a_closed_campaign(org, sent):
    campaign, by = sent
    close_campaign(campaign, Actor.system("test"))
    response = Client().get(by["bob@example.test"]["svc-payments-api"])
    assert response.status_code == 410
    assert "closed" in response.content.decode()


def test_it_changes_nothing_on_get_however_often_a_scanner_opens_it(org, sent):
    campaign, by = sent
    before = states(campaign)
    for url in by["alice@example.test"].values():
        for _ in range(3):
            assert Client().get(url).status_code == 200
    assert states(campaign) == before
    assert ReviewLink.objects.filter(used_at__isnull=False).count() == 0
    assert not Session.objects.exists()
    assert AuditEvent.objects.filter(action__in=["attestation.link_open",
                                                 "review_link.open"]).count() == 9


def test_it_rate_limits_attempts_per_token(org, sent, settings):
    settings.REVIEWS_LINK_LIMIT_PER_TOKEN = 3
    campaign, by = sent
    url = by["alice@example.test"]["svc-ledger-reader"]
    codes = [Client().get(url).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert refusals() == ["rate_limited"]  # audited once per window, not per attempt
    assert Client().get(by["alice@example.test"]["all"]).status_code == 200  # other token


def test_it_blocks_an_address_that_guesses_tokens(org, sent, settings):
    settings.REVIEWS_LINK_BAD_LIMIT_PER_IP = 3
    campaign, by = sent
    for n in range(3):
        assert Client().get(f"/review/{'G' * 42}{n}/").status_code == 404
    good = by["alice@example.test"]["svc-ledger-reader"]
    assert Client().get(good).status_code == 429
    assert Client(REMOTE_ADDR="10.9.9.9").get(good).status_code == 200


def test_it_withdraws_the_link_of_an_owner_who_left(org, sent):
    from ownership.models import Person

    campaign, by = sent
    Person.objects.filter(pk=org["bob"].pk).update(is_active=False)
    mailing.retriage_departed()
    response = Client().post(by["bob@example.test"]["svc-payments-api"], {"decision": "confirm"})
    assert response.status_code == 410
    assert "taken over by the security team" in response.content.decode()
    assert campaign.tasks.get(reviewer=org["bob"]).status == "triage"
