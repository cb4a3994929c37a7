"""API: discovery sources (admin-only writes, audited, no secrets in config) and sync runs."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Source, SyncRun
from nhigov.models import AuditEvent
from tests.factories import IdentityFactory, SourceFactory

LIST = "/api/v1/sources/"


def detail(source) -> str:
    return f"{LIST}{source.code}/"


@pytest.fixture
def api_for(users):
    def make(role: str) -> APIClient:
        client = APIClient()
        client.force_login(users[role])
        return client

    return make


NEW = {"name": "k8s-prod", "kind": "kubernetes", "schedule": "*/30 * * * *",
       "config": {"api_url": "https://k8s.internal:6443", "token_file": "/var/run/token"}}


# --- reading -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "analyst", "auditor"])
def test_it_lists_sources_to_register_readers(client_for, role):
    source = SourceFactory()
    rows = client_for(role).get(LIST).json()["results"]
    assert [r["code"] for r in rows] == [str(source.code)]
    assert rows[0]["config"] == {"region": "eu-west-1"}
    assert "id" not in rows[0]


def test_it_refuses_sources_and_runs_to_owners_and_anonymous(client_for, db):
    source = SourceFactory()
    owner = client_for("owner")
    for url in (LIST, detail(source), "/api/v1/sync-runs/"):
        assert owner.get(url).status_code == 403
        assert APIClient().get(url).status_code == 401


# --- writing -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["analyst", "auditor", "owner"])
def test_it_lets_only_admins_create_sources(api_for, role):
    response = api_for(role).post(LIST, NEW, format="json")
    assert response.status_code == 403
    assert not Source.objects.exists()
    assert not AuditEvent.objects.exclude(action="access.denied").exists()  # refusal only


@pytest.mark.parametrize("role", ["analyst", "auditor"])
def test_it_lets_only_admins_change_or_delete_sources(api_for, role):
    source = SourceFactory(enabled=True)
    client = api_for(role)
    assert client.patch(detail(source), {"enabled": False}, format="json").status_code == 403
    assert client.delete(detail(source)).status_code == 403
    source.refresh_from_db()
    assert source.enabled


def test_it_creates_a_source_and_audits_it(api_for):
    response = api_for("admin").post(LIST, {**NEW, "reason": "new cluster"}, format="json")

    assert response.status_code == 201, response.content
    source = Source.objects.get(code=response.json()["code"])
    assert source.config == NEW["config"]
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id, event.reason, event.actor) == (
        "source.create", str(source.code), "new cluster", "admin@example.test")
    assert event.after["config"] == NEW["config"]
    assert event.after["schedule"] == "*/30 * * * *"


def test_it_updates_a_source_and_audits_only_what_changed(api_for):
    source = SourceFactory(enabled=True, config={"region": "eu-west-1"})

    response = api_for("admin").patch(detail(source), {
        "enabled": False, "config": {"region": "us-east-1"}, "reason": "move region",
    }, format="json")

    assert response.status_code == 200, response.content
    source.refresh_from_db()
    assert (source.enabled, source.config) == (False, {"region": "us-east-1"})
    event = AuditEvent.objects.get()
    assert event.action == "source.update"
    assert event.before == {"enabled": True, "config": {"region": "eu-west-1"}}
    assert event.after == {"enabled": False, "config": {"region": "us-east-1"}}
    assert event.reason == "move region"


@pytest.mark.parametrize(
    ("config", "flagged"),
    [
        ({"password": "hunter2"}, "password"),
        ({"client_secret": "abc"}, "client_secret"),
        ({"token": "s.abcdef"}, "token"),
        ({"vaultToken": "x"}, "vaultToken"),
        ({"secret_access_key": "wJalr"}, "secret_access_key"),
        ({"auth": {"api_key": "k-123"}}, "auth.api_key"),
        ({"clusters": [{"name": "a", "bearer_token": "t"}]}, "clusters.0.bearer_token"),
        ({"ca": "-----BEGIN RSA PRIVATE KEY-----\nMIIE..."}, "ca"),
        ({"note": "hvs.CAESIJlKoZq0abcdefghijklmnop"}, "note"),
    ],
)
def test_it_refuses_config_that_looks_like_a_secret(api_for, config, flagged):
    response = api_for("admin").post(LIST, {**NEW, "config": config}, format="json")

    assert response.status_code == 400
    message = response.json()["config"][0]
    assert flagged in message and "never stored in the database" in message
    assert not Source.objects.exists()


def test_it_refuses_a_secret_added_by_update(api_for):
    source = SourceFactory(config={"region": "eu-west-1"})
    response = api_for("admin").patch(detail(source), {"config": {"password": "p"}},
                                      format="json")
    assert response.status_code == 400
    source.refresh_from_db()
    assert source.config == {"region": "eu-west-1"}


def test_it_accepts_references_to_where_secrets_live(api_for):
    config = {
        "token_file": "/var/run/secrets/token", "password_env": "LDAP_PASSWORD",
        "role_arn": "arn:aws:iam::1:role/reader", "kms_key_id": "1234",
        "secret_mount": "kv", "token_ttl": "1h", "verify_token": True, "key_size": 2048,
    }
    response = api_for("admin").post(LIST, {**NEW, "config": config}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"config": ["not", "an", "object"]}, "config"),
        ({"schedule": "every hour"}, "schedule"),
        ({"schedule": "61 * * * *"}, "schedule"),
        ({"missing_threshold": 1.5}, "missing_threshold"),
        ({"kind": "nosuchkind"}, "kind"),
    ],
)
def test_it_validates_source_fields(api_for, body, field):
    response = api_for("admin").post(LIST, {**NEW, **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_it_refuses_to_change_the_kind_of_a_source(api_for):
    source = SourceFactory(kind="aws")
    response = api_for("admin").patch(detail(source), {"kind": "vault"}, format="json")
    assert response.status_code == 400
    assert "kind" in response.json()


def test_it_deletes_an_unused_source_and_audits_it(api_for):
    source = SourceFactory(name="old")
    response = api_for("admin").delete(detail(source), {"reason": "decommissioned"},
                                       format="json")
    assert response.status_code == 204
    assert not Source.objects.exists()
    event = AuditEvent.objects.get()
    assert (event.action, event.reason, event.before["name"]) == (
        "source.delete", "decommissioned", "old")


def test_it_refuses_to_delete_a_source_that_has_identities(api_for):
    identity = IdentityFactory()
    response = api_for("admin").delete(detail(identity.source))
    assert response.status_code == 409
    assert "disable" in response.json()["detail"]
    assert Source.objects.filter(pk=identity.source_id).exists()
    assert not AuditEvent.objects.exists()


# --- sync runs ---------------------------------------------------------------------------


def test_it_lists_sync_runs_newest_first_filtered_by_source(client_for):
    aws, vault = SourceFactory(name="aws"), SourceFactory(name="vault", kind="vault")
    old = SyncRun.objects.create(source=aws, status="succeeded", seen=10, created=2)
    new = SyncRun.objects.create(source=aws, status="failed", error="timeout")
    SyncRun.objects.create(source=vault)
    SyncRun.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(hours=1))
    client = client_for("auditor")

    rows = client.get("/api/v1/sync-runs/", {"source": str(aws.code)}).json()["results"]

    assert [r["code"] for r in rows] == [str(new.code), str(old.code)]
    assert rows[0]["source"] == {"code": str(aws.code), "name": "aws", "kind": "aws"}
    assert (rows[0]["status"], rows[0]["error"]) == ("failed", "timeout")
    assert (rows[1]["seen"], rows[1]["created"]) == (10, 2)
    assert len(client.get("/api/v1/sync-runs/").json()["results"]) == 3
    assert client.get("/api/v1/sync-runs/", {"status": "failed"}).json()["results"][0][
        "code"] == str(new.code)


def test_it_keeps_sync_runs_read_only(api_for):
    run = SyncRun.objects.create(source=SourceFactory())
    client = api_for("admin")
    assert client.get(f"/api/v1/sync-runs/{run.code}/").status_code == 200
    assert client.post("/api/v1/sync-runs/", {}, format="json").status_code == 405
    assert client.delete(f"/api/v1/sync-runs/{run.code}/").status_code == 405
