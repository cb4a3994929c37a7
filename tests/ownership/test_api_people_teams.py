"""API: people and teams (readers see all, owners are refused, editors write with audit)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from nhigov.models import AuditEvent
from ownership.models import Person, Team
from tests.factories import PersonFactory, TeamFactory

PEOPLE, TEAMS = "/api/v1/people/", "/api/v1/teams/"


@pytest.fixture
def api_for(users):
    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_login(users[role])
        return client

    return make


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- reading -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "analyst", "auditor"])
def test_it_lists_people_and_teams_to_register_readers(client_for, role):
    team = TeamFactory(name="Payments", slug="payments")
    person = PersonFactory(email="ada@example.test", name="Ada", team=team)
    client = client_for(role)

    people = {p["email"]: p for p in rows(client.get(PEOPLE))}
    assert people["ada@example.test"] == {
        "code": str(person.code), "email": "ada@example.test", "name": "Ada",
        "team": {"code": str(team.code), "name": "Payments"}, "is_active": True,
        "left_at": None, "has_login": False,
    }
    assert people["owner@example.test"]["has_login"] is True
    teams = {t["slug"]: t for t in rows(client.get(TEAMS))}
    assert teams["payments"]["code"] == str(team.code)


def test_it_filters_people(client_for):
    team = TeamFactory(slug="payments")
    PersonFactory(name="Ada Lovelace", email="ada@example.test", team=team)
    PersonFactory(name="Grace Hopper", email="grace@example.test", is_active=False)
    client = client_for("analyst")

    assert [p["name"] for p in rows(client.get(PEOPLE, {"q": "LOVE"}))] == ["Ada Lovelace"]
    assert [p["name"] for p in rows(client.get(PEOPLE, {"team": str(team.code)}))] == [
        "Ada Lovelace"]
    assert [p["name"] for p in rows(client.get(PEOPLE, {"is_active": "false"}))] == [
        "Grace Hopper"]


def test_it_refuses_people_and_teams_to_owners_and_anonymous(client_for, owner_person):
    owner = client_for("owner")
    for url in (PEOPLE, TEAMS, f"{PEOPLE}{owner_person.code}/"):
        assert owner.get(url).status_code == 403
        assert APIClient().get(url).status_code == 401


def test_it_lists_people_without_a_query_per_row(client_for):
    client = client_for("auditor")
    PersonFactory.create_batch(3)
    with CaptureQueriesContext(connection) as few:
        rows(client.get(PEOPLE))
    PersonFactory.create_batch(30)
    with CaptureQueriesContext(connection) as many:
        assert len(rows(client.get(PEOPLE))) == 34
    assert len(many.captured_queries) == len(few.captured_queries)


# --- writing -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["auditor", "owner"])
def test_it_refuses_writes_from_read_only_roles(api_for, role):
    person = PersonFactory(name="Ada")
    client = api_for(role)
    assert client.post(PEOPLE, {"email": "x@example.test", "name": "X"},
                       format="json").status_code == 403
    assert client.patch(f"{PEOPLE}{person.code}/", {"name": "Eve"},
                        format="json").status_code == 403
    assert client.post(TEAMS, {"name": "T", "slug": "t"}, format="json").status_code == 403
    person.refresh_from_db()
    assert person.name == "Ada"
    assert not AuditEvent.objects.exclude(action="access.denied").exists()  # refusal only


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_it_creates_a_person_in_a_team_and_audits_it(api_for, role):
    team = TeamFactory(slug="payments")

    response = api_for(role).post(PEOPLE, {
        "email": "new@example.test", "name": "New Person", "team": "payments",
        "reason": "joined",
    }, format="json")

    assert response.status_code == 201, response.content
    person = Person.objects.get(email="new@example.test")
    assert person.team == team
    assert response.json()["code"] == str(person.code)
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id, event.reason) == (
        "person.create", str(person.code), "joined")
    assert event.after["team"] == "payments"
    assert event.actor == f"{role}@example.test"


def test_it_updates_a_person_and_audits_before_and_after(api_for):
    old, new = TeamFactory(slug="old-team"), TeamFactory(slug="new-team")
    person = PersonFactory(team=old, name="Ada")

    response = api_for("analyst").patch(f"{PEOPLE}{person.code}/", {
        "team": str(new.code), "is_active": False, "left_at": "2026-01-31T00:00:00Z",
    }, format="json")

    assert response.status_code == 200, response.content
    person.refresh_from_db()
    assert (person.team, person.is_active, person.name) == (new, False, "Ada")
    event = AuditEvent.objects.get()
    assert event.action == "person.update"
    assert event.before == {"team": "old-team", "is_active": True, "left_at": None}
    assert event.after["team"] == "new-team" and event.after["is_active"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "ADA@example.test", "name": "Dup"}, "email"),
        ({"email": "x@example.test", "name": "X", "team": "no-such-team"}, "team"),
        ({"email": "not-an-email", "name": "X"}, "email"),
    ],
)
def test_it_refuses_invalid_people(api_for, body, field):
    PersonFactory(email="ada@example.test")
    response = api_for("analyst").post(PEOPLE, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not AuditEvent.objects.exists()


def test_it_creates_and_updates_a_team_with_a_lead(api_for):
    lead = PersonFactory(email="lead@example.test")
    client = api_for("analyst")

    created = client.post(TEAMS, {"name": "Platform", "slug": "platform",
                                  "lead": "LEAD@example.test"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["lead"] == {"code": str(lead.code), "email": "lead@example.test",
                                      "name": lead.name}
    team = Team.objects.get(slug="platform")
    updated = client.patch(f"{TEAMS}{team.code}/", {"lead": None, "reason": "lead left"},
                           format="json")

    assert updated.status_code == 200, updated.content
    team.refresh_from_db()
    assert team.lead is None
    create, update = AuditEvent.objects.order_by("id")
    assert (create.action, create.after["lead"]) == ("team.create", "lead@example.test")
    assert (update.action, update.before, update.after, update.reason) == (
        "team.update", {"lead": "lead@example.test"}, {"lead": None}, "lead left")


def test_it_refuses_a_lead_who_has_left(api_for):
    PersonFactory(email="gone@example.test", is_active=False)
    response = api_for("admin").post(TEAMS, {"name": "T", "slug": "t",
                                             "lead": "gone@example.test"}, format="json")
    assert response.status_code == 400
    assert "gone@example.test" in response.json()["lead"][0]


def test_it_offers_no_delete_for_people_or_teams(api_for):
    person, team = PersonFactory(), TeamFactory()
    client = api_for("admin")
    assert client.delete(f"{PEOPLE}{person.code}/").status_code == 405
    assert client.delete(f"{TEAMS}{team.code}/").status_code == 405
    assert Person.objects.filter(pk=person.pk).exists()
    assert Team.objects.filter(pk=team.pk).exists()


def test_it_renders_the_browsable_api_forms_for_editors(client_for):
    lead = PersonFactory(team=TeamFactory())
    team = TeamFactory(lead=lead)
    client = client_for("analyst")
    for url in (PEOPLE, TEAMS, f"{PEOPLE}{lead.code}/", f"{TEAMS}{team.code}/"):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        # The team and lead pickers offer what a client would send: slug and email.
        assert lead.email in response.content.decode()
