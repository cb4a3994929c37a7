"""Every role against every page and endpoint, with objects inside and outside its scope."""

import json

import pytest
from django.test import Client

from tests.factories import (
    CredentialFactory,
    IdentityFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ALL = {"admin", "analyst", "auditor", "owner"}
READERS = {"admin", "analyst", "auditor"}
EDITORS = {"admin", "analyst"}


@pytest.fixture
def world(users, owner_person):
    team = TeamFactory()
    other = PersonFactory(team=team)
    mine = IdentityFactory(name="svc-mine", technical_owner=owner_person, team=team)
    theirs = IdentityFactory(name="svc-theirs", technical_owner=other, team=team)
    CredentialFactory(identity=mine, external_id="AKIAMINE00000001")
    CredentialFactory(identity=theirs, external_id="AKIATHEIRS000001")
    return {"mine": mine, "theirs": theirs, "team": team, "person": other,
            "source": mine.source}


def pages(w) -> list[tuple[str, set, int]]:
    """(url, roles allowed, status for roles not allowed)."""
    return [
        ("/identities/", ALL, 403),
        (f"/identities/{w['mine'].code}/", ALL, 404),
        (f"/identities/{w['theirs'].code}/", READERS, 404),
        (f"/identities/{w['mine'].code}/edit/", EDITORS, 403),
        ("/identities/export.csv", ALL, 403),
        ("/sources/", READERS, 403),
        ("/teams/", READERS, 403),
        (f"/teams/{w['team'].code}/", READERS, 403),
        ("/people/", READERS, 403),
        (f"/people/{w['person'].code}/", READERS, 403),
        ("/import/", EDITORS, 403),
        ("/api/v1/identities/", ALL, 403),
        (f"/api/v1/identities/{w['mine'].code}/", ALL, 404),
        (f"/api/v1/identities/{w['theirs'].code}/", READERS, 404),
        ("/api/v1/credentials/", ALL, 403),
        ("/api/v1/people/", READERS, 403),
        ("/api/v1/teams/", READERS, 403),
        ("/api/v1/sources/", READERS, 403),
        ("/api/v1/sync-runs/", READERS, 403),
        ("/api/v1/schema/", ALL, 403),
    ]


@pytest.mark.parametrize("role", sorted(ALL))
def test_it_gives_each_role_exactly_its_pages(role, world, client_for):
    client = client_for(role)
    for url, allowed, denied in pages(world):
        status = client.get(url).status_code
        expected = 200 if role in allowed else denied
        assert status == expected, f"{role} GET {url}: {status}, expected {expected}"


def test_it_refuses_every_page_to_a_user_without_a_role(world):
    client = Client()
    client.force_login(UserFactory(username="norole@example.test"))
    for url, _allowed, _denied in pages(world):
        assert client.get(url).status_code in (403, 404), url


@pytest.mark.parametrize("role", sorted(ALL))
def test_it_lets_owners_list_only_their_own_rows(role, world, client_for):
    client = client_for(role)
    names = {row["name"] for row in client.get("/api/v1/identities/").json()["results"]}
    creds = {row["external_id"] for row in client.get("/api/v1/credentials/").json()["results"]}
    csv = client.get("/identities/export.csv")
    body = b"".join(csv.streaming_content).decode()
    if role == "owner":
        assert names == {"svc-mine"} and creds == {"AKIAMINE00000001"}
        assert "svc-mine" in body and "svc-theirs" not in body
    else:
        assert names == {"svc-mine", "svc-theirs"}
        assert creds == {"AKIAMINE00000001", "AKIATHEIRS000001"}
        assert "svc-theirs" in body


@pytest.mark.parametrize("role", sorted(ALL))
def test_it_lets_only_editors_change_identities(role, world, client_for):
    client = client_for(role)
    identity = world["mine"]
    response = client.patch(
        f"/api/v1/identities/{identity.code}/",
        data=json.dumps({"purpose": f"set by {role}", "reason": "matrix"}),
        content_type="application/json",
    )
    bulk = client.post("/identities/bulk/", {
        "field": "zone", "value": "storage", "scope": "selected",
        "selected": [str(identity.code)], "reason": "matrix",
    })
    identity.refresh_from_db()
    if role in EDITORS:
        assert response.status_code == 200
        assert identity.purpose == f"set by {role}" and identity.zone == "storage"
    else:
        assert response.status_code == 403 and bulk.status_code == 403
        assert identity.purpose == "" and identity.zone == "compute"


@pytest.mark.parametrize("role", sorted(ALL))
def test_it_lets_only_admins_configure_sources(role, world, client_for):
    response = client_for(role).post(
        "/api/v1/sources/",
        data=json.dumps({"name": f"k8s-{role}", "kind": "kubernetes", "config": {}}),
        content_type="application/json",
    )
    assert response.status_code == (201 if role == "admin" else 403)


def test_it_shows_django_admin_to_admins_only(world, client_for):
    assert client_for("admin").get("/admin/").status_code == 200
    for role in ("analyst", "auditor", "owner"):
        assert client_for(role).get("/admin/").status_code == 302



@pytest.mark.parametrize("as_field", ["technical_owner", "business_owner", "backup_owner"])
def test_it_counts_every_ownership_role_as_ownership(as_field, owner_person, client_for):
    """Technical, business and backup owners all see the identity; nobody else's leaks."""
    mine = IdentityFactory(name="svc-owned-here", **{as_field: owner_person})
    other = IdentityFactory(name="svc-owned-elsewhere", **{as_field: PersonFactory()})
    client = client_for("owner")
    names = {row["name"] for row in client.get("/api/v1/identities/").json()["results"]}
    assert names == {"svc-owned-here"}
    assert client.get(f"/identities/{mine.code}/").status_code == 200
    assert client.get(f"/identities/{other.code}/").status_code == 404
    assert "svc-owned-elsewhere" not in client.get("/identities/").content.decode()
