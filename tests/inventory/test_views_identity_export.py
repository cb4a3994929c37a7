"""The register CSV: header and rows, filters and owner scope, formula-safe cells, the
audit event, streaming, and a query count that does not grow with the rows."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory import export
from inventory.models import Identity
from nhigov.models import AuditEvent
from tests.factories import (
    EnvironmentFactory,
    IdentityFactory,
    PersonFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
)

EXPORT = reverse("inventory:identity_export")
HEADER = [
    "code", "name", "kind", "provider", "source", "external_id", "path", "environment", "zone",
    "status", "privilege", "auth_method", "interactive_login", "technical_owner",
    "business_owner", "backup_owner", "team", "purpose", "workload", "change_ticket",
    "created_at_source", "last_used_at", "last_rotated_at", "expires_at", "last_attested_at",
    "first_seen_at", "tags",
]


def read_csv(response) -> list[dict]:
    """Consume the streamed body; check the header; return the rows as dicts."""
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


@pytest.fixture
def estate(users, owner_person) -> dict:
    ops = TeamFactory(name="Ops", slug="ops")
    alice = PersonFactory(name="Alice", email="alice@corp.test", team=ops)
    vault = SourceFactory(name="vault-main", kind="vault")
    used = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    rows = {
        "aws-deployer": IdentityFactory(
            name="aws-deployer", external_id="arn:aws:iam::1:user/aws-deployer",
            path="/ci/", purpose="Deploys billing", workload="billing-api",
            change_ticket="CHG-1", technical_owner=alice, business_owner=owner_person,
            team=ops, privilege="admin", interactive_login=True, tags=["pci", "prod"],
            last_used_at=used, environment=EnvironmentFactory(slug="production"),
        ),
        "vault-token": IdentityFactory(
            name="vault-token", source=vault, provider="vault", kind="vault_token",
            environment=None, zone="", last_used_at=None,
        ),
        "mine-backup": IdentityFactory(name="mine-backup", backup_owner=owner_person),
        "theirs": IdentityFactory(name="theirs", technical_owner=alice),
    }
    return {"rows": rows, "alice": alice, "ops": ops}


# --- access --------------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_login(db):
    response = Client().get(EXPORT)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not AuditEvent.objects.exists()


def test_it_refuses_users_without_a_role(db):
    client = Client()
    client.force_login(UserFactory())
    assert client.get(EXPORT).status_code == 403
    assert not AuditEvent.objects.exclude(action="access.denied").exists()  # refusal only


@pytest.mark.parametrize("role", ["admin", "analyst", "auditor"])
def test_it_exports_everything_to_readers(client_for, estate, role):
    rows = read_csv(client_for(role).get(EXPORT))
    assert sorted(r["name"] for r in rows) == sorted(estate["rows"])


# --- content -------------------------------------------------------------------------


def test_it_streams_a_csv_attachment(client_for, estate):
    response = client_for("analyst").get(EXPORT)
    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming
    assert response["Content-Type"] == "text/csv"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="nhigov-identities-')
    assert disposition.endswith('.csv"')


def test_it_writes_one_row_per_identity_with_every_column(client_for, estate):
    rows = {r["name"]: r for r in read_csv(client_for("analyst").get(EXPORT))}
    assert len(rows) == 4
    row, identity = rows["aws-deployer"], estate["rows"]["aws-deployer"]
    assert row == {
        **row,
        "code": str(identity.code), "kind": "iam_user", "provider": "aws",
        "source": "aws-prod", "external_id": "arn:aws:iam::1:user/aws-deployer", "path": "/ci/",
        "environment": "production", "zone": "compute", "status": "active",
        "privilege": "admin", "auth_method": "static_secret", "interactive_login": "True",
        "technical_owner": "alice@corp.test", "business_owner": "owner@example.test",
        "backup_owner": "", "team": "Ops", "purpose": "Deploys billing",
        "workload": "billing-api", "change_ticket": "CHG-1",
        "last_used_at": "2025-03-04T05:06:07+00:00", "expires_at": "", "tags": "pci;prod",
    }
    assert row["first_seen_at"] == identity.first_seen_at.isoformat()
    empty = rows["vault-token"]
    assert (empty["source"], empty["environment"], empty["zone"], empty["last_used_at"],
            empty["technical_owner"], empty["team"], empty["tags"]) == ("vault-main", "", "", "",
                                                                       "", "", "")


def test_it_writes_only_the_header_when_nothing_matches(client_for, estate):
    assert read_csv(client_for("analyst").get(EXPORT, {"q": "no-such-identity"})) == []


def test_it_writes_only_the_header_for_an_invalid_filter(client_for, estate):
    assert read_csv(client_for("analyst").get(EXPORT, {"expires_within": "abc"})) == []


@pytest.mark.parametrize("params,expected", [
    ({"provider": "vault"}, {"vault-token"}),
    ({"q": "billing"}, {"aws-deployer"}),
    ({"privilege": "read", "provider": "aws"}, {"mine-backup", "theirs"}),
    ({"has_owner": "false"}, {"vault-token", "mine-backup"}),
    ({"kind": ""}, {"aws-deployer", "vault-token", "mine-backup", "theirs"}),  # "" means any
])
def test_it_exports_what_the_filter_matches(client_for, estate, params, expected):
    rows = read_csv(client_for("analyst").get(EXPORT, params))
    assert {r["name"] for r in rows} == expected


def test_it_exports_the_owner_filter(client_for, estate):
    rows = read_csv(client_for("analyst").get(EXPORT, {"owner": str(estate["alice"].code)}))
    assert {r["name"] for r in rows} == {"aws-deployer", "theirs"}


def test_it_exports_only_what_an_owner_owns(client_for, estate):
    client = client_for("owner")
    assert {r["name"] for r in read_csv(client.get(EXPORT))} == {"aws-deployer", "mine-backup"}
    # No filter reaches past the owner's scope: Alice's other identity stays out.
    by_alice = read_csv(client.get(EXPORT, {"owner": str(estate["alice"].code)}))
    assert {r["name"] for r in by_alice} == {"aws-deployer"}
    assert read_csv(client.get(EXPORT, {"q": "theirs"})) == []


# --- formula injection ---------------------------------------------------------------


def test_it_defuses_cells_that_a_spreadsheet_would_run(client_for, estate):
    IdentityFactory(
        name='=HYPERLINK("http://evil.test","click")', path="+SUM(A1:A9)",
        purpose="-2+3", workload="@cmd", change_ticket="\tTAB", external_id="\r=1",
        team=TeamFactory(name="=Team", slug="eq-team"), tags=["=evil", "ok"],
    )
    rows = read_csv(client_for("analyst").get(EXPORT, {"q": "HYPERLINK"}))
    assert len(rows) == 1
    row = rows[0]
    assert row["name"] == '\'=HYPERLINK("http://evil.test","click")'
    assert row["path"] == "'+SUM(A1:A9)"
    assert row["purpose"] == "'-2+3"
    assert row["workload"] == "'@cmd"
    assert row["change_ticket"] == "'\tTAB"
    assert row["external_id"] == "'\r=1"
    assert row["team"] == "'=Team"
    assert row["tags"] == "'=evil;ok"


def test_it_leaves_ordinary_cells_alone(client_for, estate):
    IdentityFactory(name="a=b", purpose="costs 5-3", workload="user@host", tags=["x=1"])
    row = read_csv(client_for("analyst").get(EXPORT, {"q": "a=b"}))[0]
    assert (row["name"], row["purpose"], row["workload"], row["tags"]) == (
        "a=b", "costs 5-3", "user@host", "x=1")


# --- audit ---------------------------------------------------------------------------


def test_it_records_the_export_in_the_audit_log(client_for, estate, users):
    response = client_for("analyst").get(EXPORT + "?provider=vault&sort=-name&after=abc")
    read_csv(response)
    event = AuditEvent.objects.get()
    assert event.action == "identity.export"
    assert (event.object_type, event.object_id) == ("register", "csv")
    assert event.actor == "analyst@example.test"
    assert event.actor_user_id == users["analyst"].pk
    assert event.actor_type == AuditEvent.ActorType.USER
    assert event.reason == "CSV download"
    assert event.after == {"filter": "provider=vault&sort=-name"}  # paging dropped


def test_it_records_an_owners_export_too(client_for, estate):
    read_csv(client_for("owner").get(EXPORT))
    assert AuditEvent.objects.get().actor == "owner@example.test"


# --- query count and chunks ----------------------------------------------------------


def exported_with_queries(client, **params) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        rows = read_csv(client.get(EXPORT, params))
    return len(rows), len(ctx.captured_queries)


def add_identities(n: int) -> None:
    """Identities with their own owners, team and environment, so a lazy join would show."""
    for _ in range(n):
        team = TeamFactory()
        IdentityFactory(
            technical_owner=PersonFactory(team=team), business_owner=PersonFactory(team=team),
            backup_owner=PersonFactory(team=team), team=team,
            environment=EnvironmentFactory(slug=f"env-{team.slug}"),
        )


def test_it_uses_as_many_queries_for_60_rows_as_for_5(client_for, users):
    client = client_for("analyst")
    add_identities(5)
    small_rows, small = exported_with_queries(client)
    add_identities(55)
    large_rows, large = exported_with_queries(client)
    assert (small_rows, large_rows) == (5, 60)
    assert large == small


def test_it_reads_the_rows_in_id_chunks(db):
    made = IdentityFactory.create_batch(20)
    with CaptureQueriesContext(connection) as ctx:
        lines = list(export.csv_rows(Identity.objects.all(), chunk=7))
    assert len(lines) == 21
    names = [next(csv.reader([line]))[1] for line in lines[1:]]
    assert names == [i.name for i in sorted(made, key=lambda i: i.pk)]  # each once, id order
    assert len(ctx.captured_queries) == 4  # 7 + 7 + 6, then one empty read


def test_it_streams_lazily(db):
    IdentityFactory.create_batch(3)
    rows = export.csv_rows(Identity.objects.all())
    with CaptureQueriesContext(connection) as ctx:
        assert next(rows).startswith("code,name,")
    assert ctx.captured_queries == []  # nothing read until the first row is asked for
