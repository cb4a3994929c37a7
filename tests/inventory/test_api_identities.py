"""API: identities (list, filters, search, ordering + cursor paging, PATCH) and credentials."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Identity
from nhigov.models import AuditEvent
from tests.factories import (
    CredentialFactory,
    EnvironmentFactory,
    IdentityFactory,
    PersonFactory,
    SourceFactory,
    TeamFactory,
)

LIST = "/api/v1/identities/"


def detail(identity) -> str:
    return f"/api/v1/identities/{identity.code}/"


@pytest.fixture
def api_for(users):
    """api_for("analyst") -> a DRF APIClient logged in (session) as that role."""

    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_login(users[role])
        return client

    return make


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["code"] for row in response.json()["results"]]


# --- representation ----------------------------------------------------------------------


def test_it_lists_identities_with_small_nested_relations(client_for):
    owner = PersonFactory(email="ada@example.test", name="Ada")
    team = TeamFactory(name="Payments")
    identity = IdentityFactory(technical_owner=owner, team=team, data_hash="f" * 64)

    row = client_for("auditor").get(LIST).json()["results"][0]

    assert row["code"] == str(identity.code)
    assert row["technical_owner"] == {"code": str(owner.code), "email": "ada@example.test",
                                      "name": "Ada"}
    assert row["business_owner"] is None
    assert row["team"] == {"code": str(team.code), "name": "Payments"}
    assert row["environment"] == "production"
    assert row["source"] == {"code": str(identity.source.code), "name": "aws-prod",
                             "kind": "aws"}
    assert "data_hash" not in row and "id" not in row


def test_it_retrieves_by_code_with_credentials_and_never_by_integer_id(client_for):
    identity = IdentityFactory(attributes={"arn": "arn:aws:iam::1:user/x"})
    credential = CredentialFactory(identity=identity, external_id="AKIAEXAMPLE1")
    client = client_for("analyst")

    body = client.get(detail(identity)).json()

    assert body["attributes"] == {"arn": "arn:aws:iam::1:user/x"}
    assert [c["code"] for c in body["credentials"]] == [str(credential.code)]
    assert body["credentials"][0]["external_id"] == "AKIAEXAMPLE1"
    assert "data_hash" not in body
    assert client.get(f"{LIST}{identity.pk}/").status_code == 404


# --- filters, search ---------------------------------------------------------------------


@pytest.fixture
def register(db):
    """A small register with a spread of kinds, zones, owners, environments and expiries."""
    now = timezone.now()
    ada = PersonFactory(email="ada@example.test", name="Ada Lovelace")
    team = TeamFactory(slug="payments", name="Payments")
    staging = EnvironmentFactory(slug="staging")
    vault = SourceFactory(name="vault-prod", kind="vault")
    return {
        "ada": ada,
        "team": team,
        "vault": vault,
        "billing": IdentityFactory(name="billing-api", technical_owner=ada, team=team,
                                   zone="compute", expires_at=now + timedelta(days=10)),
        "backup": IdentityFactory(name="nightly-backup", kind="cloud_role", zone="storage",
                                  environment=staging, purpose="Copies the ledger to S3"),
        "approle": IdentityFactory(name="ci-deployer", source=vault, provider="vault",
                                   kind="vault_approle", zone="management",
                                   business_owner=ada, expires_at=now + timedelta(days=90)),
        "orphan": IdentityFactory(name="legacy-ftp", kind="iam_user", zone="access",
                                  interactive_login=True, last_used_at=None),
    }


def names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=cloud_role", {"nightly-backup"}),
        ("kind=vault_approle&kind=cloud_role", {"nightly-backup", "ci-deployer"}),
        ("zone=access&zone=management", {"legacy-ftp", "ci-deployer"}),
        ("provider=vault", {"ci-deployer"}),
        ("environment=staging", {"nightly-backup"}),
        ("has_owner=false", {"nightly-backup", "legacy-ftp"}),
        ("has_owner=true", {"billing-api", "ci-deployer"}),
        ("expires_within=30", {"billing-api"}),
        ("interactive_login=true", {"legacy-ftp"}),
        ("last_used_before=2999-01-01&kind=iam_user", {"billing-api", "legacy-ftp"}),
        ("kind=", {"billing-api", "nightly-backup", "ci-deployer", "legacy-ftp"}),
    ],
)
def test_it_filters_like_the_register_page(client_for, register, query, expected):
    assert names(client_for("analyst").get(f"{LIST}?{query}")) == expected


def test_it_filters_by_related_codes(client_for, register):
    client = client_for("auditor")
    assert names(client.get(f"{LIST}?owner={register['ada'].code}")) == {
        "billing-api", "ci-deployer"}
    assert names(client.get(f"{LIST}?team={register['team'].code}")) == {"billing-api"}
    assert names(client.get(f"{LIST}?source={register['vault'].code}")) == {"ci-deployer"}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("billing", {"billing-api"}),  # name
        ("LEDGER", {"nightly-backup"}),  # purpose, case-insensitive
        ("ada@example", {"billing-api", "ci-deployer"}),  # owner email
        ("lovelace", {"billing-api", "ci-deployer"}),  # owner name
        ("no-such-thing", set()),
    ],
)
def test_it_searches_with_q(client_for, register, q, expected):
    assert names(client_for("analyst").get(LIST, {"q": q})) == expected


def test_it_rejects_unknown_filter_values(client_for, register):
    client = client_for("analyst")
    assert client.get(f"{LIST}?kind=bogus").status_code == 400
    assert client.get(f"{LIST}?owner=not-a-uuid").status_code == 400


# --- ordering and cursor paging ----------------------------------------------------------


@pytest.fixture
def many(db):
    """17 identities with ties and NULLs in every sortable column used below."""
    now = timezone.now()
    kinds = ["iam_user", "cloud_role", "api_key"]
    made = []
    for i in range(17):
        made.append(IdentityFactory(
            name=f"svc-{i % 6}",  # repeated names: ties broken by id
            kind=kinds[i % 3],
            last_used_at=None if i % 4 == 0 else now - timedelta(days=i % 5),
            expires_at=None if i % 3 == 0 else now + timedelta(days=i % 4),
            risk_score=(i * 7) % 5,
        ))
    return made


def walk(client, url: str) -> tuple[list[str], list[dict]]:
    """Follow `next` links to the end; return every code seen and every page body."""
    seen, bodies = [], []
    while url:
        body = client.get(url).json()
        bodies.append(body)
        seen += [row["code"] for row in body["results"]]
        url = body["next"]
        assert len(bodies) < 50, "paging does not terminate"
    return seen, bodies


def expected_order(sort: str) -> list[str]:
    field = sort.lstrip("-")
    if sort.startswith("-"):
        order = [F(field).desc(nulls_last=True), "-id"]
    else:
        order = [F(field).asc(nulls_last=True), "id"]
    return [str(c) for c in Identity.objects.order_by(*order).values_list("code", flat=True)]


@pytest.mark.parametrize(
    "sort", ["name", "-name", "kind", "-risk_score", "last_used_at", "-last_used_at",
             "expires_at", "-expires_at"],
)
def test_it_pages_through_every_row_once_in_the_requested_order(client_for, many, sort):
    seen, bodies = walk(client_for("analyst"), f"{LIST}?ordering={sort}&page_size=4")

    assert len(seen) == len(set(seen)) == 17
    assert seen == expected_order(sort)
    assert [len(b["results"]) for b in bodies] == [4, 4, 4, 4, 1]


def test_it_puts_nulls_last_in_both_directions(client_for, many):
    client = client_for("analyst")
    for sort in ("last_used_at", "-last_used_at"):
        rows = walk(client, f"{LIST}?ordering={sort}&page_size=5")[1]
        values = [r["last_used_at"] for body in rows for r in body["results"]]
        first_null = values.index(None)
        assert all(v is None for v in values[first_null:])
        present = values[:first_null]
        assert present == sorted(present, reverse=sort.startswith("-"))


def test_it_pages_backwards_with_previous_links(client_for, many):
    client = client_for("analyst")
    first = client.get(f"{LIST}?ordering=-expires_at&page_size=5").json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    assert first["previous"] is None
    assert codes_of(client.get(third["previous"]).json()) == codes_of(second)
    assert codes_of(client.get(second["previous"]).json()) == codes_of(first)


def codes_of(body: dict) -> list[str]:
    return [row["code"] for row in body["results"]]


def test_it_sorts_by_name_when_ordering_is_absent_or_not_sortable(client_for, many):
    client = client_for("analyst")
    by_name = expected_order("name")
    assert codes(client.get(LIST)) == by_name
    assert codes(client.get(f"{LIST}?ordering=external_id")) == by_name


def test_it_refuses_a_cursor_under_another_ordering(client_for, many):
    client = client_for("analyst")
    next_url = client.get(f"{LIST}?ordering=kind&page_size=5").json()["next"]
    assert client.get(next_url.replace("ordering=kind", "ordering=name")).status_code == 404
    assert client.get(f"{LIST}?cursor=garbage!").status_code == 404


def test_it_lists_fifty_identities_with_as_many_queries_as_five(
    client_for, django_assert_max_num_queries
):
    client = client_for("analyst")

    def add(n: int) -> None:
        for _ in range(n):
            team, owner = TeamFactory(), PersonFactory()
            IdentityFactory(technical_owner=owner, business_owner=PersonFactory(),
                            backup_owner=owner, team=team, environment=EnvironmentFactory(
                                slug=f"env-{team.pk}"))

    add(5)
    with CaptureQueriesContext(connection) as five:
        assert len(codes(client.get(LIST))) == 5
    add(45)
    with django_assert_max_num_queries(len(five.captured_queries)):
        assert len(codes(client.get(LIST))) == 50


# --- roles -------------------------------------------------------------------------------


def test_it_shows_owners_only_their_own_identities(client_for, owner_person):
    mine = IdentityFactory(backup_owner=owner_person)
    other = IdentityFactory()
    client = client_for("owner")

    assert codes(client.get(LIST)) == [str(mine.code)]
    assert client.get(detail(mine)).status_code == 200
    assert client.get(detail(other)).status_code == 404


@pytest.mark.parametrize("role", ["admin", "analyst", "auditor"])
def test_it_shows_every_identity_to_register_readers(client_for, role):
    IdentityFactory.create_batch(3)
    assert len(codes(client_for(role).get(LIST))) == 3


def test_it_refuses_anonymous_and_roleless_users(db):
    identity = IdentityFactory()
    anonymous = APIClient()
    assert anonymous.get(LIST).status_code == 401
    assert anonymous.get(detail(identity)).status_code == 401
    assert anonymous.patch(detail(identity), {"reason": "x", "zone": "access"},
                           format="json").status_code == 401
    roleless = APIClient()
    roleless.force_login(get_user_model().objects.create_user("nobody", "nobody@example.test"))
    assert roleless.get(LIST).status_code == 403


def test_it_accepts_token_authentication(users, api_token):
    identity = IdentityFactory()
    token = api_token("auditor", scope="read")
    client = APIClient()

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert codes(client.get(LIST)) == [str(identity.code)]
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(LIST).status_code == 401


# --- PATCH -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["auditor", "owner"])
def test_it_refuses_changes_from_read_only_roles(api_for, owner_person, role):
    identity = IdentityFactory(technical_owner=owner_person, zone="compute")
    response = api_for(role).patch(detail(identity), {"reason": "r", "zone": "access"},
                                   format="json")
    assert response.status_code == 403
    identity.refresh_from_db()
    assert identity.zone == "compute"
    assert not AuditEvent.objects.exclude(action="access.denied").exists()  # refusal only


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_offers_no_create_replace_or_delete(api_for, method):
    identity = IdentityFactory()
    client = api_for("admin")
    url = LIST if method == "post" else detail(identity)
    assert getattr(client, method)(url, {"name": "x"}, format="json").status_code == 405
    assert Identity.objects.filter(pk=identity.pk).exists()


@pytest.mark.parametrize("body", [{"zone": "access"}, {"zone": "access", "reason": "   "}])
def test_it_requires_a_reason_and_changes_nothing_without_one(api_for, body):
    identity = IdentityFactory(zone="compute")

    response = api_for("analyst").patch(detail(identity), body, format="json")

    assert response.status_code == 400
    assert response.json()["reason"] == ["A reason is required for every change."]
    identity.refresh_from_db()
    assert identity.zone == "compute"
    assert not AuditEvent.objects.exists()


def test_it_applies_a_change_with_a_reason_and_audits_before_and_after(api_for, users):
    old_owner = PersonFactory(email="old@example.test")
    new_owner = PersonFactory(email="new@example.test")
    team = TeamFactory(slug="payments")
    EnvironmentFactory(slug="staging")
    identity = IdentityFactory(technical_owner=old_owner, zone="compute", tags=["a"])

    response = api_for("analyst").patch(detail(identity), {
        "reason": "Reorg CHG-1", "technical_owner": "NEW@example.test", "team": "payments",
        "environment": "staging", "zone": "storage", "purpose": "Nightly export",
        "change_ticket": "CHG-1", "tags": ["pci", "pci", " batch "],
        "expires_at": "2030-01-01T00:00:00Z",
    }, format="json", HTTP_X_REQUEST_ID="req-000042")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["technical_owner"]["email"] == "new@example.test"
    assert body["team"]["code"] == str(team.code)
    assert (body["environment"], body["zone"], body["tags"]) == ("staging", "storage",
                                                                 ["pci", "batch"])
    identity.refresh_from_db()
    assert (identity.technical_owner, identity.team) == (new_owner, team)
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id, event.reason) == (
        "identity.update", str(identity.code), "Reorg CHG-1")
    assert (event.actor, event.actor_user_id, event.request_id) == (
        "analyst@example.test", users["analyst"].pk, "req-000042")
    assert event.before["technical_owner"] == "old@example.test"
    assert event.after["technical_owner"] == "new@example.test"
    assert (event.before["zone"], event.after["zone"]) == ("compute", "storage")
    assert (event.before["environment"], event.after["environment"]) == ("production",
                                                                         "staging")


def test_it_takes_a_team_by_code_and_clears_values_with_null(api_for):
    team = TeamFactory()
    identity = IdentityFactory(expires_at=timezone.now(), technical_owner=PersonFactory())

    response = api_for("admin").patch(detail(identity), {
        "reason": "cleanup", "team": str(team.code), "expires_at": None,
        "technical_owner": None,
    }, format="json")

    assert response.status_code == 200, response.content
    identity.refresh_from_db()
    assert (identity.team, identity.expires_at, identity.technical_owner) == (team, None, None)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"technical_owner": "ghost@example.test"}, "technical_owner", "ghost@example.test"),
        ({"backup_owner": "left@example.test"}, "backup_owner", "left@example.test"),
        ({"team": "no-such-team"}, "team", "no-such-team"),
        ({"environment": "mars"}, "environment", "mars"),
        ({"zone": "dmz"}, "zone", "dmz"),
        ({"name": "renamed"}, "non_field_errors", "cannot be edited: name"),
        ({"status": "disabled"}, "non_field_errors", "cannot be edited: status"),
        ({}, "non_field_errors", "at least one field"),
    ],
)
def test_it_refuses_unknown_values_and_fields_and_changes_nothing(api_for, body, field, message):
    PersonFactory(email="left@example.test", is_active=False)
    identity = IdentityFactory(name="svc", zone="compute")

    response = api_for("analyst").patch(detail(identity), {"reason": "r", **body},
                                        format="json")

    assert response.status_code == 400
    assert message in str(response.json()[field])
    identity.refresh_from_db()
    assert (identity.name, identity.zone, identity.status) == ("svc", "compute", "active")
    assert not AuditEvent.objects.exists()


def test_it_records_nothing_when_values_are_unchanged(api_for):
    identity = IdentityFactory(zone="compute")
    response = api_for("analyst").patch(detail(identity), {"reason": "r", "zone": "compute"},
                                        format="json")
    assert response.status_code == 200
    assert not AuditEvent.objects.exists()


# --- credentials -------------------------------------------------------------------------


def test_it_lists_credentials_filtered_by_identity_code(client_for):
    first, second = IdentityFactory(), IdentityFactory()
    key = CredentialFactory(identity=first, fingerprint="ab" * 32)
    CredentialFactory(identity=second)
    client = client_for("auditor")

    assert len(codes(client.get("/api/v1/credentials/"))) == 2
    rows = client.get("/api/v1/credentials/", {"identity": str(first.code)}).json()["results"]
    assert [r["code"] for r in rows] == [str(key.code)]
    assert rows[0]["identity"] == {"code": str(first.code), "name": first.name}
    assert not {"secret", "value", "secret_value", "id"} & set(rows[0])


def test_it_shows_owners_only_credentials_of_their_identities(client_for, owner_person):
    mine = CredentialFactory(identity=IdentityFactory(business_owner=owner_person))
    other = CredentialFactory()
    client = client_for("owner")

    assert codes(client.get("/api/v1/credentials/")) == [str(mine.code)]
    assert client.get(f"/api/v1/credentials/{other.code}/").status_code == 404


def test_it_keeps_credentials_read_only(api_for):
    credential = CredentialFactory()
    client = api_for("admin")
    assert client.post("/api/v1/credentials/", {}, format="json").status_code == 405
    url = f"/api/v1/credentials/{credential.code}/"
    assert client.patch(url, {"status": "revoked"}, format="json").status_code == 405
    assert client.delete(url).status_code == 405
