"""The vault connector against a real OpenBao dev server (see servers_vault.py)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from inventory.connectors.base import (
    AccessDenied,
    BadConfig,
    ConnectorError,
    Unreachable,
    connector_for,
)
from inventory.connectors.vault_client import owner_hints_from, parse_duration, parse_time
from inventory.connectors.vault_policy import Rule, parse_policy, rule_level
from tests.live.servers_vault import (  # noqa: F401 - the *_fixture are pytest fixtures
    ADMIN_POLICY,
    READ_POLICY,
    WRITE_POLICY,
    free_port,
    odd_vault_fixture,
    vault_seed_fixture,
    vault_server_fixture,
    vault_tls_server_fixture,
)

TOKEN_ENV = "NHIGOV_TEST_VAULT_TOKEN"


@pytest.fixture
def vault(vault_seed, monkeypatch):
    """vault(token=None, **config) -> a configured connector (root token by default)."""

    def make(token: str | None = None, **config):
        monkeypatch.setenv(TOKEN_ENV, token or vault_seed.server.root_token)
        base = {"url": vault_seed.server.url, "token_env": TOKEN_ENV,
                "kv_mounts": ["secret", "legacy-kv"]}
        return connector_for("vault", {**base, **config})

    return make


def by_id(records) -> dict:
    return {r.external_id: r for r in records}


def dump(records) -> str:
    return json.dumps([dataclasses.asdict(r) for r in records], default=str)


def test_it_reads_approle_roles_with_policies_and_secret_id_accessors(vault, vault_seed):
    records = by_id(vault().read())

    admin = records["approle:approle/ci-admin"]
    assert (admin.kind, admin.provider, admin.name) == ("vault_approle", "vault",
                                                        "approle/ci-admin")
    assert admin.path == "auth/approle/role/ci-admin"
    assert admin.privilege == "admin"
    assert admin.permissions_summary == ("policies: admin-all; admin via policy 'admin-all' "
                                         '(sudo on "*")')
    assert admin.auth_method == "static_secret"  # a 30-day secret-id is a static secret
    attrs = admin.attributes
    assert (attrs["token_ttl"], attrs["token_max_ttl"], attrs["secret_id_ttl"]) == (
        3600, 14400, 720 * 3600)
    assert attrs["secret_id_num_uses"] == 0
    assert attrs["token_policies"] == ["admin-all"]
    assert attrs["bind_secret_id"] is True
    assert attrs["secret_id_bound_cidrs"] == ["10.0.0.0/8"]
    assert attrs["token_bound_cidrs"] == ["10.1.0.0/16"]
    assert attrs["secret_id_count"] == 2
    assert "role_id" not in attrs

    creds = {c.external_id: c for c in admin.credentials}
    assert set(creds) == set(vault_seed.secret_id_accessors["ci-admin"])
    for cred in creds.values():
        assert cred.kind == "secret_id" and cred.status == "active"
        assert cred.created_at_source >= vault_seed.started - timedelta(seconds=5)
        assert cred.expires_at - cred.created_at_source == timedelta(hours=720)
    newest = creds[vault_seed.secret_id_accessors["ci-admin"][-1]]
    assert admin.last_rotated_at == newest.created_at_source
    assert newest.attributes["metadata"] == {"owner": "alice@example.com", "team": "platform"}
    assert admin.owner_hints == {"owner": "alice@example.com", "team": "platform"}
    assert admin.expires_at is None

    reader = records["approle:approle/payments-reader"]
    assert reader.privilege == "read"
    assert reader.auth_method == "short_lived_token"  # 1 h, single-use secret-ids
    assert reader.attributes["secret_id_num_uses"] == 1
    assert reader.environment == "production"  # from the secret-id metadata
    assert [c.expires_at - c.created_at_source for c in reader.credentials] == [
        timedelta(hours=1)]

    deployer = records["approle:approle/deployer"]
    assert deployer.privilege == "write"  # JSON-format policy with create/update
    assert deployer.credentials == [] and deployer.last_rotated_at is None

    connector_role = records["approle:nhigov/discovery"]
    assert connector_role.attributes["mount"] == "nhigov"
    assert connector_role.privilege == "read"  # only reads and lookups


def test_it_reads_token_store_tokens_including_root(vault, vault_seed):
    records = by_id(vault().read())
    acc = vault_seed.token_accessors

    root = records[f"token:{acc['root']}"]
    assert root.kind == "vault_token" and root.privilege == "admin"
    assert root.expires_at is None and root.auth_method == "static_secret"
    assert root.attributes["root"] is True and root.attributes["policies"] == ["root"]
    assert root.credentials[0].kind == "token"
    assert root.credentials[0].external_id == acc["root"]

    legacy = records[f"token:{acc['legacy-admin']}"]
    assert legacy.name == "token-legacy-admin"
    assert legacy.privilege == "admin" and legacy.auth_method == "static_secret"
    assert legacy.attributes["orphan"] is True
    assert legacy.attributes["ttl"] == 720 * 3600
    assert legacy.expires_at - legacy.created_at_source == pytest.approx(
        timedelta(hours=720), abs=timedelta(seconds=2))
    assert legacy.owner_hints == {"owner": "bob@example.com", "environment": "production"}
    assert legacy.environment == "production"
    assert legacy.path == "auth/token/create-orphan"

    bot = records[f"token:{acc['deploy-bot']}"]
    assert (bot.privilege, bot.auth_method) == ("write", "short_lived_token")
    assert bot.attributes["orphan"] is False
    assert bot.attributes["policies"] == ["default", "deploy-write"]
    assert bot.owner_hints == {"team": "delivery"}
    assert bot.credentials[0].expires_at == bot.expires_at

    periodic = records[f"token:{acc['periodic-agent']}"]
    assert periodic.attributes["period"] == 86400
    assert periodic.auth_method == "static_secret"  # renewable forever

    escalation = records[f"token:{acc['policy-admin']}"]
    assert escalation.privilege == "admin"
    assert "can grant itself more" in escalation.permissions_summary


def test_it_leaves_out_login_tokens_unless_asked(vault, vault_seed, monkeypatch):
    monkeypatch.setenv("NHIGOV_TEST_ROLE_ID", vault_seed.connector_role_id)
    monkeypatch.setenv("NHIGOV_TEST_SECRET_ID", vault_seed.connector_secret_id)
    login = vault(approle_mount="nhigov", role_id_env="NHIGOV_TEST_ROLE_ID",
                  secret_id_env="NHIGOV_TEST_SECRET_ID")
    assert login.check().ok  # leaves one AppRole login token behind

    def login_tokens(**config):
        return [r for r in vault(**config).read()
                if r.kind == "vault_token" and r.path == "auth/nhigov/login"]

    assert login_tokens() == []
    found = login_tokens(include_login_tokens=True)
    assert found and found[0].attributes["policies"] == ["connector", "default"]
    assert found[0].auth_method == "short_lived_token"


def test_it_reads_kubernetes_and_jwt_roles(vault):
    records = by_id(vault().read())

    payments = records["kubernetes:kubernetes/payments"]
    assert payments.kind == "vault_auth_role"
    assert payments.auth_method == "workload_federation"
    assert payments.attributes["bound_service_account_names"] == ["payments-api"]
    assert payments.attributes["bound_service_account_namespaces"] == ["payments"]
    assert payments.attributes["unbounded"] is False
    assert payments.attributes["kubernetes_host"] == "https://kubernetes.test:6443"
    assert payments.attributes["token_policies"] == ["payments-read"]
    assert payments.owner_hints == {"workload": "payments/payments-api"}
    assert payments.privilege == "read"
    anything = records["kubernetes:kubernetes/anything"]
    assert anything.attributes["unbounded"] is True and anything.privilege == "admin"

    deploy = records["jwt:jwt/gha-deploy"]
    assert deploy.attributes["bound_subject"] == "repo:acme/shop:ref:refs/heads/main"
    assert deploy.attributes["bound_claims"] == {"repository": "acme/shop"}
    assert deploy.attributes["user_claim"] == "sub"
    assert deploy.attributes["unbounded"] is False
    assert deploy.attributes["issuer"] == "https://token.actions.githubusercontent.com"
    assert deploy.privilege == "write" and deploy.interactive_login is False
    open_role = records["jwt:jwt/gha-any"]
    assert open_role.attributes["unbounded"] is True
    assert open_role.attributes["bound_audiences"] == ["https://github.com/acme"]
    assert open_role.privilege == "admin"


def test_it_reads_kv_metadata_with_owner_hints(vault):
    records = by_id(vault().read())

    db = records["kv:secret/payments/db"]
    assert (db.kind, db.provider, db.auth_method) == ("secret", "vault", "static_secret")
    assert db.attributes["current_version"] == 2 and db.attributes["versions"] == 2
    assert db.attributes["custom_metadata"]["team"] == "payments"
    assert db.owner_hints == {"owner": "carol@example.com", "team": "payments",
                              "environment": "production", "purpose": "orders database login"}
    assert db.environment == "production"
    assert db.last_rotated_at > db.created_at_source  # version 2 written after version 1
    assert db.status == "active" and db.expires_at is None

    assert "kv:secret/payments/api/stripe" in records  # nested folders are walked
    deleted = records["kv:secret/deploy/signing-key"]
    assert deleted.status == "disabled" and deleted.attributes["current_version_deleted"]
    tls = records["kv:secret/infra/tls"]
    assert tls.expires_at - tls.last_rotated_at == timedelta(hours=720)
    legacy = records["kv:legacy-kv/ftp/password"]
    assert legacy.attributes == {"mount": "legacy-kv", "kv_version": 1}


def test_it_never_yields_a_secret_value(vault, vault_seed):
    records = list(vault(include_login_tokens=True).read())
    text = dump(records)
    assert len(records) > 20
    assert len(vault_seed.canaries) > 15
    leaked = [c for c in vault_seed.canaries if c in text]
    assert leaked == []
    assert "CANARY-SECRET" not in text


def test_it_checks_the_connection(vault):
    result = vault().check()
    assert result.ok, result.summary
    assert result.details["display_name"] == "token"
    assert result.details["policies"] == ["root"]
    assert result.details["auth_mount_types"] == {"approle": 2, "jwt": 1, "kubernetes": 1,
                                                  "token": 1}
    assert result.details["tokens"] == "readable"
    assert result.details["kv_mounts"] == {"secret": "v2", "legacy-kv": "v1"}
    assert "5 auth mounts" in result.summary
    assert "token accessors readable" in result.summary


def test_it_skips_tokens_when_accessors_are_not_permitted(vault, vault_seed):
    connector = vault(token=vault_seed.tokens["limited"])
    result = connector.check()
    assert result.ok
    assert result.details["tokens"].startswith("not permitted")
    assert result.details["policies"] == ["connector", "default"]

    records = list(connector.read())
    kinds = {r.kind for r in records}
    assert kinds == {"vault_approle", "vault_auth_role", "secret"}
    # Same facts as with the root token, minus the tokens (the policy has no data access,
    # so the connector provably never needs it).
    full = [r for r in vault().read() if r.kind != "vault_token"]
    assert dump(records) == dump(full)


def test_it_reads_tokens_with_the_documented_least_privilege_policy(vault, vault_seed):
    connector = vault(token=vault_seed.tokens["discoverer"])
    assert connector.check().details["tokens"] == "readable"
    records = by_id(connector.read())
    assert f"token:{vault_seed.token_accessors['root']}" in records
    assert records["approle:approle/ci-admin"].privilege == "admin"


def test_it_fails_when_secret_ids_may_not_be_listed(vault, vault_seed):
    connector = vault(token=vault_seed.tokens["half-blind"], kv_mounts=[])
    with pytest.raises(AccessDenied, match=r"auth/approle/role/ci-admin/secret-id"):
        list(connector.read())


def test_it_reads_the_token_from_a_file(vault, vault_seed, tmp_path):
    path = tmp_path / "vault-token"
    path.write_text(vault_seed.server.root_token + "\n")
    connector = vault(token_file=str(path), token_env="NHIGOV_UNSET_VARIABLE")
    assert connector.check().details["policies"] == ["root"]

    missing = vault(token_file=str(tmp_path / "nope"))
    result = missing.check()
    assert (result.ok, result.error_kind) == (False, "bad_config")
    assert "Cannot read the Vault token file" in result.summary
    with pytest.raises(BadConfig):
        list(missing.read())


def test_it_logs_in_with_approle(vault, vault_seed, monkeypatch, tmp_path):
    secret_file = tmp_path / "secret-id"
    secret_file.write_text(vault_seed.connector_secret_id)
    monkeypatch.setenv("NHIGOV_TEST_ROLE_ID", vault_seed.connector_role_id)
    connector = vault(token_env="NHIGOV_UNSET_VARIABLE", approle_mount="nhigov",
                      role_id_env="NHIGOV_TEST_ROLE_ID", secret_id_file=str(secret_file))
    result = connector.check()
    assert result.ok, result.summary
    assert result.details["display_name"] == "nhigov"  # Vault names it after the mount
    assert result.details["policies"] == ["connector", "default"]
    assert "approle:approle/ci-admin" in by_id(connector.read())

    secret_file.write_text("not-the-secret-id")
    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "access_denied")
    assert "AppRole login" in result.summary and "not-the-secret-id" not in result.summary


def test_it_reports_an_unreachable_vault(vault):
    connector = vault(url=f"http://127.0.0.1:{free_port()}", timeout=2)
    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "unreachable")
    assert "Cannot reach Vault at http://127.0.0.1:" in result.summary
    with pytest.raises(Unreachable):
        list(connector.read())


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_it_verifies_tls_with_the_configured_ca(vault, vault_tls_server):
    tls = {"url": vault_tls_server.url, "token": vault_tls_server.root_token, "kv_mounts": []}
    untrusted = vault(**tls).check()
    assert (untrusted.ok, untrusted.error_kind) == (False, "unreachable")
    assert "TLS handshake" in untrusted.summary and "ca_file" in untrusted.summary

    trusted = vault(**tls, ca_file=vault_tls_server.ca_file)
    assert trusted.check().ok
    assert any(r.attributes.get("root") for r in trusted.read())
    assert vault(**tls, verify="false").check().ok  # a string from a form still counts
    missing = vault(**tls, ca_file="/nonexistent/ca.pem").check()
    assert (missing.error_kind, missing.summary) == (
        "bad_config", "The CA file '/nonexistent/ca.pem' does not exist.")


def test_it_reports_a_wrong_token_as_access_denied(vault):
    connector = vault(token="s.this-token-does-not-exist")
    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "access_denied")
    assert "refused the token" in result.summary
    assert "this-token-does-not-exist" not in result.summary
    with pytest.raises(AccessDenied, match="refused the token"):
        list(connector.read())


def test_it_reports_missing_credentials_and_unknown_params(vault, vault_seed, monkeypatch):
    connector = vault()
    monkeypatch.delenv(TOKEN_ENV)
    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "bad_config")
    assert TOKEN_ENV in result.summary
    with pytest.raises(BadConfig, match="unknown parameter 'token'"):
        connector_for("vault", {"url": vault_seed.server.url, "token": "x"})
    with pytest.raises(BadConfig, match="'url' is required"):
        connector_for("vault", {})
    assert vault(timeout="soon").check().error_kind == "bad_config"
    assert "http:// or https://" in vault(url="vault.example.com").check().summary


def test_it_rejects_kv_mounts_that_are_missing_or_not_kv(vault):
    with pytest.raises(AccessDenied, match="Cannot see KV mount 'nope'"):
        list(vault(kv_mounts=["nope"]).read())
    with pytest.raises(BadConfig, match="'cubbyhole' engine, not KV"):
        list(vault(kv_mounts=["cubbyhole"]).read())
    assert vault(kv_mounts=["nope"]).check().error_kind == "access_denied"


def test_it_reads_only_the_listed_auth_mounts(vault):
    records = list(vault(auth_mounts=["kubernetes"], kv_mounts=[]).read())
    roles = sorted(r.external_id for r in records if r.kind != "vault_token")
    assert roles == ["kubernetes:kubernetes/anything", "kubernetes:kubernetes/payments"]
    with pytest.raises(AccessDenied, match="auth mount 'missing'"):
        list(vault(auth_mounts=["missing"]).read())


def test_it_reads_a_namespace(vault):
    records = list(vault(namespace="team-a", kv_mounts=[]).read())
    assert [r.external_id for r in records] == ["approle:approle/batch"]
    assert records[0].attributes["namespace"] == "team-a"
    assert records[0].privilege == "read"
    assert list(vault(namespace="empty-ns", kv_mounts=[]).read()) == []


@pytest.mark.django_db
def test_it_syncs_twice_without_changes(vault):
    from inventory.models import Identity, Source
    from inventory.sync import sync_records

    source = Source.objects.create(name="vault-test", kind="vault", config={})
    first = sync_records(source, vault(kv_mounts=["secret"]).read())
    assert first.status == "succeeded", first.error
    second = sync_records(source, vault(kv_mounts=["secret"]).read())
    assert second.status == "succeeded", second.error
    assert second.created == 0 and second.updated == 0
    assert second.unchanged == first.created
    admin = Identity.objects.get(source=source, external_id="approle:approle/ci-admin")
    assert admin.privilege == "admin" and admin.credentials.count() == 2


def test_it_refuses_answers_that_are_not_vault_json(vault, odd_vault):
    url, routes = odd_vault
    routes["/v1/auth/token/lookup-self"] = (200, "text/html", "<html>Sign in</html>")
    connector = vault(url=url)
    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "error")
    assert "not a Vault response (HTTP 200, text/html)" in result.summary
    with pytest.raises(ConnectorError, match="auth/token/lookup-self"):
        list(connector.read())


def test_it_names_the_path_of_malformed_data(vault, odd_vault):
    url, routes = odd_vault
    json_ = "application/json"
    routes["/v1/auth/token/lookup-self"] = (200, json_, '{"data": {"policies": ["x"]}}')
    routes["/v1/sys/auth"] = (200, json_, '{"data": {}}')
    routes["/v1/auth/token/accessors"] = (200, json_, '{"data": {"keys": ["acc1"]}}')
    routes["/v1/auth/token/lookup-accessor"] = (
        200, json_, '{"data": {"path": "auth/token/create", "creation_ttl": "forever"}}')
    routes["/v1/sys/policies/acl/x"] = (200, json_, '{"data": {"policy": ""}}')
    with pytest.raises(ConnectorError, match=r"last path read: 'auth/token/lookup-accessor'"):
        list(vault(url=url, kv_mounts=[]).read())
    routes["/v1/auth/token/accessors"] = (200, json_, '{"data": {}}')
    assert list(vault(url=url, kv_mounts=[]).read()) == []  # an empty Vault is fine


# Parsers, on inputs a live server will not produce (comments, odd formats, garbage).

def test_it_parses_hcl_and_json_policies():
    assert parse_policy(ADMIN_POLICY) == [
        Rule("*", frozenset({"create", "read", "update", "delete", "list", "sudo"}))]
    assert parse_policy(READ_POLICY) == [
        Rule("secret/data/payments/*", frozenset({"read", "list"})),
        Rule("secret/data/payments/admin", frozenset({"deny"}))]
    assert parse_policy(WRITE_POLICY) == [
        Rule("secret/data/deploy/*", frozenset({"create", "update", "read"}))]
    assert parse_policy('{"path": [{"a/*": [{"capabilities": ["read"]}]}]}') == [
        Rule("a/*", frozenset({"read"}))]
    assert parse_policy('path "x#y" { capabilities = ["read"] } # path "z" {}') == [
        Rule("x#y", frozenset({"read"}))]
    assert parse_policy("not a policy {{{") == []
    assert parse_policy("") == []


@pytest.mark.parametrize(("path", "caps", "level"), [
    ("*", {"read"}, "admin"),
    ("sys/*", {"update"}, "admin"),
    ("sys/policies/acl/+", {"create"}, "admin"),
    ("identity/group/*", {"update"}, "admin"),
    ("secret/data/x", {"sudo", "read"}, "admin"),
    ("secret/data/*", {"create"}, "write"),
    ("auth/approle/role/+/secret-id-accessor/lookup", {"update"}, "read"),
    ("secret/metadata/*", {"read", "list"}, "read"),
    ("*", {"deny"}, None),
    ("cubbyhole/*", {"create", "delete"}, None),
    ("auth/token/renew-self", {"update"}, None),
])
def test_it_ranks_policy_rules(path, caps, level):
    assert rule_level(Rule(path, frozenset(caps)))[0] == level


def test_it_parses_vault_times_durations_and_metadata():
    assert parse_time("2026-11-25T12:06:34.109674707Z") == datetime(
        2026, 11, 25, 12, 6, 34, 109674, tzinfo=UTC)
    assert parse_time(1795608400) == datetime.fromtimestamp(1795608400, tz=UTC)
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("yesterday") is None and parse_time(None) is None
    assert parse_duration("768h0m0s") == timedelta(hours=768)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("0s") is None and parse_duration("junk") is None
    assert parse_duration(90) == timedelta(seconds=90)
    assert owner_hints_from({"Owner": "a@x.io", "Tech-Owner": "b@x.io", "ENV": "prod",
                             "colour": "blue", "team": ""}) == {
        "owner": "a@x.io", "technical_owner": "b@x.io", "environment": "prod"}
    assert owner_hints_from(["not", "a", "dict"]) == {}
