"""My reviews and the portal's task page: an owner answers their own tasks signed in; an
analyst triages; nobody answers someone else's task."""

import pytest

from inventory.models import Identity
from ownership.models import Person
from reviews.models import Attestation

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_signs_in(org, users):
    Person.objects.filter(user=users["owner"]).update(user=None)
    org["alice"].user = users["owner"]
    org["alice"].save()


def test_it_lists_my_pending_reviews(org, campaign, alice_signs_in, client_for):
    page = client_for("owner").get("/reviews/").content.decode()
    assert "svc-payments-api" in page and "svc-ledger-reader" in page
    assert "svc-orphan" not in page


def test_it_says_when_a_login_has_no_person(org, campaign, client_for):
    page = client_for("auditor").get("/reviews/").content.decode()
    assert "not linked to a person" in page


def test_it_lets_an_owner_answer_in_the_portal(org, campaign, alice_signs_in, client_for):
    task = Attestation.objects.get(reviewer=org["alice"], identity=org["tech_only"])
    client = client_for("owner")
    assert "Submit decision" in client.get(f"/reviews/tasks/{task.code}/").content.decode()
    response = client.post(f"/reviews/tasks/{task.code}/", {"decision": "confirm"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.decision, task.decided_by) == ("confirm", "owner@example.test")
    assert Identity.objects.get(pk=org["tech_only"].pk).last_attested_at is not None
    page = client.get(f"/reviews/tasks/{task.code}/").content.decode()
    assert "Submit decision" not in page and "Confirmed" in page


def test_it_hides_other_owners_tasks(org, campaign, alice_signs_in, client_for):
    bobs = Attestation.objects.get(reviewer=org["bob"])
    client = client_for("owner")
    assert client.get(f"/reviews/tasks/{bobs.code}/").status_code == 404  # not revealed
    assert client.post(f"/reviews/tasks/{bobs.code}/", {"decision": "confirm"}).status_code == 404
    assert Attestation.objects.get(pk=bobs.pk).status == "pending"


def test_it_shows_but_does_not_let_readers_answer_owner_tasks(org, campaign, client_for):
    bobs = Attestation.objects.get(reviewer=org["bob"])
    page = client_for("auditor").get(f"/reviews/tasks/{bobs.code}/").content.decode()
    assert "Submit decision" not in page and "Waiting for Bob Business" in page
    refused = client_for("analyst").post(f"/reviews/tasks/{bobs.code}/", {"decision": "confirm"})
    assert refused.status_code == 403


def test_it_lets_an_analyst_triage_an_ownerless_identity(org, campaign, client_for):
    item = Attestation.objects.get(identity=org["left"])
    client = client_for("analyst")
    assert "Submit decision" in client.get(f"/reviews/tasks/{item.code}/").content.decode()
    client.post(f"/reviews/tasks/{item.code}/", {"decision": "revoke",
                                                   "comment": "Owner left; unused"})
    assert Identity.objects.get(pk=org["left"].pk).deprovision_requested_at is not None
    assert client_for("auditor").post(f"/reviews/tasks/{item.code}/",
                                      {"decision": "confirm"}).status_code == 403
