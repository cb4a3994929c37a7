"""The kubernetes connector: the real `kubernetes` client against a loopback HTTPS server
replaying recorded API JSON (see servers_kubernetes.py)."""

from __future__ import annotations

import dataclasses
import json
import socket
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes

from inventory.connectors.base import (
    AccessDenied,
    BadConfig,
    ConnectorError,
    Unreachable,
    connector_for,
)
from inventory.connectors.kubernetes_rbac import Grant, assess
from tests.live.servers_kubernetes import k8s_api_fixture  # noqa: F401 - a pytest fixture

TOKEN_SECRET = "kubernetes.io/service-account-token"  # noqa: S105 (a type name)


def by_id(records) -> dict:
    return {r.external_id.removeprefix("aif-prod-eu1/"): r for r in records}


def dump(records) -> str:
    return json.dumps([dataclasses.asdict(r) for r in records], default=str)


def read_all(k8s_api, behaviour: str = "admin", **config) -> dict:
    return by_id(connector_for("kubernetes", k8s_api.config(behaviour, **config)).read())


def drain(connector) -> tuple[list, Exception]:
    """Records yielded before the failure, and the failure."""
    got = []
    with pytest.raises(ConnectorError) as failure:
        for record in connector.read():
            got.append(record)
    return got, failure.value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_checks_access_and_reports_what_it_can_see(k8s_api):
    result = connector_for("kubernetes", k8s_api.config()).check()

    assert result.ok, result.summary
    assert "Kubernetes v1.31.4" in result.summary
    assert "9 namespaces and 15 service accounts" in result.summary
    assert result.details["namespaces"] == 9
    assert result.details["service_accounts"] == 15
    assert result.details["host"] == k8s_api.url


def test_it_reads_every_page_of_every_list(k8s_api):
    records = read_all(k8s_api, page_size=2)

    kinds = [r.kind for r in records.values()]
    assert kinds.count("k8s_service_account") == 15
    assert kinds.count("certificate") == 4
    pages = [r for r in k8s_api.server.requests_for("admin")
             if r["path"] == "/api/v1/serviceaccounts" and r["query"].get("limit") == "2"]
    assert len(pages) >= 8  # 15 accounts, 2 per page
    assert sum("continue" in r["query"] for r in pages) >= 7
    continued = {r["path"] for r in k8s_api.server.requests_for("admin")
                 if r["query"].get("limit") == "2" and "continue" in r["query"]}
    assert continued >= {"/api/v1/namespaces", "/api/v1/secrets",
                         "/apis/rbac.authorization.k8s.io/v1/roles",
                         "/apis/rbac.authorization.k8s.io/v1/rolebindings",
                         "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                         "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"}


def test_it_describes_service_accounts(k8s_api):
    trainer = read_all(k8s_api)["ml-training/trainer"]

    assert (trainer.provider, trainer.kind, trainer.name, trainer.path) == (
        "kubernetes", "k8s_service_account", "trainer", "ml-training")
    assert trainer.created_at_source == datetime(2023, 6, 2, 8, 20, 11, tzinfo=UTC)
    attrs = trainer.attributes
    assert attrs["namespace"] == "ml-training"
    assert len(attrs["uid"]) == 36
    assert attrs["automountServiceAccountToken"] is True
    assert attrs["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert attrs["annotations"]["nhigov.io/purpose"] == "Runs nightly fine-tuning jobs"
    assert attrs["image_pull_secrets"] == ["registry-pull"]
    assert attrs["federated_to"] == [
        {"cloud": "aws", "identity": "arn:aws:iam::210987654321:role/eks-trainer"}]
    assert attrs["bindings"][0] == {
        "binding": "RoleBinding/ml-training/trainer-jobs", "role": "Role/job-runner",
        "scope": "ml-training", "via": "", "role_found": True}
    assert read_all(k8s_api)["ml-training/notebook"].attributes[
        "automountServiceAccountToken"] is False


def test_it_resolves_rbac_to_privilege_levels(k8s_api):
    records = read_all(k8s_api)
    privilege = {key: r.privilege for key, r in records.items()
                 if r.kind == "k8s_service_account"}

    assert privilege == {
        "cert-manager/cert-manager": "admin",  # reads and writes secrets cluster-wide
        "cert-manager/default": "read",
        "default/default": "read",
        "kube-system/coredns": "read",
        "kube-system/default": "read",
        "kube-system/legacy-admin": "admin",  # cluster-admin
        "legacy-apps/ci-bot": "write",  # edit, bound to its User name
        "legacy-apps/deployer": "admin",  # Role with verbs * on resources *
        "ml-training/default": "read",
        "ml-training/notebook": "read",
        "ml-training/trainer": "write",
        "monitoring/prometheus": "read",
        "monitoring/secret-sync": "admin",  # get/list secrets cluster-wide
        "payments-staging/default": "read",
        "payments-staging/payments-api": "read",  # reads secrets, in its namespace only
    }
    admin = records["kube-system/legacy-admin"]
    assert admin.permissions_summary.startswith("ClusterRole/cluster-admin (cluster)")
    assert "bound to cluster-admin cluster-wide" in admin.attributes["privilege_reasons"]
    assert admin.attributes["secrets_access"] is True
    assert records["payments-staging/payments-api"].attributes["secrets_access"] is True
    assert records["ml-training/trainer"].attributes["secrets_access"] is False
    assert records["monitoring/secret-sync"].attributes["privilege_reasons"] == [
        "ClusterRole/secret-reader-all: can read secrets cluster-wide"]


def test_it_resolves_user_group_and_dangling_bindings(k8s_api):
    records = read_all(k8s_api)

    ci_bot = records["legacy-apps/ci-bot"].permissions_summary
    assert "ClusterRole/edit (namespace legacy-apps) via User " \
           "system:serviceaccount:legacy-apps:ci-bot" in ci_bot
    assert "Role/release-manager (namespace legacy-apps) [role not found]" in ci_bot
    prometheus = records["monitoring/prometheus"].permissions_summary
    assert prometheus.startswith("ClusterRole/prometheus (cluster)")
    assert "ClusterRole/view (namespace monitoring) via Group " \
           "system:serviceaccounts:monitoring" in prometheus
    # Every account is in system:serviceaccounts; system:authenticated is not resolved.
    assert all("system:service-account-issuer-discovery" in r.permissions_summary
               for r in records.values() if r.kind == "k8s_service_account")
    assert not any("public-info-viewer" in r.permissions_summary for r in records.values())


def test_it_counts_no_bindings_as_read_only_when_it_saw_every_binding():
    assert assess([], complete=True).privilege == "read"
    assert assess([], complete=False).privilege == "unknown"
    escalate = Grant("RoleBinding/a/b", "Role/r", "a", "", ({"apiGroups": [""],
                     "resources": ["serviceaccounts"], "verbs": ["impersonate"]},), True)
    assert assess([escalate], complete=True).privilege == "admin"


def test_it_reports_legacy_token_secrets_without_their_values(k8s_api):
    records = read_all(k8s_api)

    admin = records["kube-system/legacy-admin"]
    assert admin.auth_method == "static_secret"
    [token] = admin.credentials
    assert token.kind == "token_secret"
    assert len(token.external_id) == 36  # the secret's UID
    assert token.created_at_source == datetime(2021, 6, 1, 7, 58, 14, tzinfo=UTC)
    assert token.last_used_at == datetime(2025, 1, 10, tzinfo=UTC)
    assert (token.status, token.attributes["name"]) == ("active", "legacy-admin-token-8xk2p")
    assert token.attributes["service_account_uid"] == admin.attributes["uid"]
    assert admin.last_rotated_at == token.created_at_source
    assert "legacy-token" in admin.tags

    deployer = records["legacy-apps/deployer"]
    status = {c.attributes["name"]: c.status for c in deployer.credentials}
    assert status == {"deployer-token-q7w2n": "active", "deployer-token-old": "inactive"}
    assert deployer.last_rotated_at == datetime(2022, 2, 1, 10, 30, tzinfo=UTC)
    assert deployer.attributes["legacy_token_secrets"] == 1

    # Minted for an earlier account of the same name (another UID): rejected, so inactive.
    ci_bot = records["legacy-apps/ci-bot"]
    [stale] = ci_bot.credentials
    assert (stale.status, stale.attributes["stale_uid"]) == ("inactive", True)
    assert ci_bot.auth_method == "short_lived_token"

    trainer = records["ml-training/trainer"]
    assert (trainer.auth_method, trainer.credentials, trainer.last_rotated_at) == (
        "short_lived_token", [], None)
    # The token secret of a deleted account belongs to nobody and is not reported.
    assert "old-worker-token-abcde" not in dump(records.values())


def test_it_takes_owner_hints_and_environment_from_labels_and_namespaces(k8s_api):
    records = read_all(k8s_api)

    trainer = records["ml-training/trainer"]
    assert trainer.environment == "production"  # the namespace's environment label
    assert trainer.owner_hints == {
        "owner": "lukas.brandt@example.com", "team": "ml-platform",
        "purpose": "Runs nightly fine-tuning jobs", "zone": "compute", "managed_by": "Helm",
        "workload": "ml-training/trainer"}
    payments = records["payments-staging/payments-api"]
    assert payments.environment == ""  # nothing explicit: only a guess, as a hint
    assert payments.owner_hints["environment"] == "staging"
    assert payments.owner_hints["technical_owner"] == "grace.kim@example.com"
    assert payments.owner_hints["business_owner"] == "hannah.berg@example.com"  # namespace
    # No environment in the namespace name: the cluster name "aif-prod-eu1" is the guess.
    assert records["default/default"].owner_hints == {"environment": "production"}


def test_it_uses_the_configured_environment(k8s_api):
    records = read_all(k8s_api, environment="Production")

    assert records["payments-staging/payments-api"].environment == "production"
    assert "environment" not in records["payments-staging/payments-api"].owner_hints


def test_it_reads_tls_secrets_as_certificates(k8s_api):
    records = read_all(k8s_api)
    certs = k8s_api.material.certs

    trainer = records["ml-training/trainer-tls"]
    assert (trainer.provider, trainer.kind, trainer.auth_method) == (
        "kubernetes", "certificate", "certificate")
    [cred] = trainer.credentials
    fingerprint = certs["ec"].fingerprint(hashes.SHA256()).hex()
    assert (cred.kind, cred.external_id, cred.fingerprint) == (
        "certificate", f"sha256:{fingerprint}", fingerprint)
    assert (cred.key_algorithm, cred.key_size, cred.status) == ("EC", 256, "active")
    assert trainer.expires_at == certs["ec"].not_valid_after_utc
    assert trainer.last_rotated_at == certs["ec"].not_valid_before_utc
    attrs = trainer.attributes
    assert attrs["sans"] == ["trainer.ml.example.com", "trainer.ml-training.svc"]
    assert attrs["curve"] == "secp256r1"
    assert attrs["chain_length"] == 2
    assert attrs["issuer"] == "CN=internal-ca,O=nhigov tests"
    assert attrs["serial"] == format(certs["ec"].serial_number, "x")
    assert (attrs["managed_by"], attrs["auto_renew"]) == ("cert-manager", True)
    assert attrs["cert_manager"]["issuer-name"] == "internal-ca"
    assert trainer.environment == "production"

    small = records["payments-staging/payments-api-tls"].credentials[0]
    assert (small.key_algorithm, small.key_size) == ("RSA", 1024)
    assert records["payments-staging/payments-api-tls"].attributes["self_signed"] is True

    expired = records["legacy-apps/legacy-ingress-tls"]
    assert expired.credentials[0].status == "expired"
    assert expired.expires_at < datetime.now(UTC)
    assert expired.attributes["sans"] == ["legacy.example.com", "www.legacy.example.com",
                                          "10.20.0.7"]
    assert expired.owner_hints["owner"] == "tomasz.nowak@example.com"


def test_it_reports_an_unreadable_certificate_instead_of_dropping_it(k8s_api):
    broken = read_all(k8s_api)["legacy-apps/broken-tls"]

    assert broken.kind == "certificate"
    assert broken.credentials == []
    assert broken.attributes["parse_error"] == "tls.crt holds no PEM certificate"
    assert broken.permissions_summary == "TLS secret; certificate unreadable"


def test_it_never_yields_a_secret_value(k8s_api):
    records = list(connector_for("kubernetes", k8s_api.config(page_size=3)).read())
    blob = dump(records)

    canaries = k8s_api.material.canaries()
    assert any(c.startswith("CANARY-K8S-TOKEN-") for c in canaries)
    assert [c for c in canaries if c in blob] == []
    assert "PRIVATE KEY" not in blob
    assert "last-applied-configuration" not in blob
    # Secrets are only ever listed by type, and token secrets as metadata only.
    secret_calls = [r for r in k8s_api.server.requests_for("admin")
                    if r["path"] == "/api/v1/secrets"]
    assert secret_calls
    assert all(r["query"]["fieldSelector"] in (f"type={TOKEN_SECRET}", "type=kubernetes.io/tls")
               for r in secret_calls)
    assert all("PartialObjectMetadataList" in r["accept"] for r in secret_calls
               if r["query"]["fieldSelector"] == f"type={TOKEN_SECRET}")


def test_it_drops_secret_values_when_the_server_sends_them_anyway(k8s_api):
    full = read_all(k8s_api, "full-secrets")

    assert [c for c in k8s_api.material.canaries() if c in dump(full.values())] == []
    assert full["kube-system/legacy-admin"].credentials[0].attributes["name"] == \
        "legacy-admin-token-8xk2p"
    assert dump(full.values()).count("token_secret") == dump(
        read_all(k8s_api).values()).count("token_secret")


def test_it_reads_through_a_kubeconfig(k8s_api):
    connector = connector_for("kubernetes", {"cluster_name": "aif-prod-eu1",
                                             "kubeconfig": k8s_api.kubeconfig()})

    assert connector.check().ok
    records = by_id(connector.read())
    assert records["kube-system/legacy-admin"].privilege == "admin"
    assert len(records) == 19


def test_it_uses_the_kubeconfig_context_given(k8s_api):
    connector = connector_for("kubernetes", {
        "cluster_name": "aif-prod-eu1", "kubeconfig": k8s_api.kubeconfig(),
        "context": "aif-prod-eu1-restricted"})

    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "access_denied")
    assert "secrets" in result.summary


def test_it_reads_in_cluster_settings_from_the_environment(k8s_api, monkeypatch):
    host, port = k8s_api.url.removeprefix("https://").split(":")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    connector = connector_for("kubernetes", {
        "cluster_name": "aif-prod-eu1", "token_file": k8s_api.token_files["admin"],
        "ca_file": k8s_api.ca_file})

    assert connector.check().ok


def test_it_restricts_to_the_namespaces_given(k8s_api):
    records = read_all(k8s_api, namespaces=["ml-training", "legacy-apps"])

    assert sorted(records) == [
        "legacy-apps/broken-tls", "legacy-apps/ci-bot", "legacy-apps/deployer",
        "legacy-apps/legacy-ingress-tls", "ml-training/default", "ml-training/notebook",
        "ml-training/trainer", "ml-training/trainer-tls"]
    assert records["ml-training/trainer"].attributes["rbac_complete"] is False
    assert records["ml-training/trainer"].privilege == "write"
    paths = {r["path"] for r in k8s_api.server.requests_for("admin")}
    assert "/api/v1/namespaces/ml-training/serviceaccounts" in paths
    result = connector_for("kubernetes", k8s_api.config(namespaces="ml-training")).check()
    assert result.ok and "1 namespaces and 3 service accounts" in result.summary


def test_it_reports_a_missing_namespace_as_bad_config(k8s_api):
    result = connector_for("kubernetes", k8s_api.config(namespaces=["nope"])).check()

    assert (result.ok, result.error_kind) == (False, "bad_config")
    assert "namespace 'nope'" in result.summary


def test_it_handles_an_empty_cluster(k8s_api):
    connector = connector_for("kubernetes", k8s_api.config("empty"))

    result = connector.check()
    assert result.ok and "0 namespaces and 0 service accounts" in result.summary
    assert list(connector.read()) == []


def test_it_fails_when_the_api_server_is_unreachable(k8s_api):
    config = k8s_api.config(host=f"https://127.0.0.1:{free_port()}", timeout=5)
    connector = connector_for("kubernetes", config)

    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "unreachable")
    assert "Cannot reach the Kubernetes API" in result.summary
    with pytest.raises(Unreachable):
        list(connector.read())


def test_it_refuses_a_server_certificate_it_cannot_verify(k8s_api):
    wrong_ca = k8s_api.workdir / "other-ca.crt"
    wrong_ca.write_bytes(k8s_api.material.values["cluster_ca"])
    result = connector_for("kubernetes", k8s_api.config(ca_file=str(wrong_ca))).check()

    assert (result.ok, result.error_kind) == (False, "unreachable")
    assert "TLS verification" in result.summary


def test_it_reports_rejected_credentials(k8s_api):
    connector = connector_for("kubernetes", k8s_api.config("wrong"))

    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "access_denied")
    assert "401 Unauthorized" in result.summary
    got, error = drain(connector)
    assert (got, type(error)) == ([], AccessDenied)
    assert "not-a-valid-token" not in str(error)


def test_it_names_the_resource_it_may_not_read(k8s_api):
    connector = connector_for("kubernetes", k8s_api.config("restricted"))

    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "access_denied")
    assert "403 Forbidden" in result.summary
    assert 'cannot list resource "secrets"' in result.summary
    got, error = drain(connector)
    assert (got, type(error)) == ([], AccessDenied)
    assert "secrets" in str(error)


def test_it_fails_when_a_later_page_is_forbidden(k8s_api):
    got, error = drain(connector_for("kubernetes", k8s_api.config("page2-forbidden",
                                                                  page_size=4)))

    assert got == []  # never a partial success
    assert isinstance(error, AccessDenied)
    assert "serviceaccounts (all namespaces) (page 2)" in str(error)


def test_it_restarts_a_list_whose_continue_token_expired(k8s_api):
    records = read_all(k8s_api, "expire-once", page_size=4)

    assert len([r for r in records.values() if r.kind == "k8s_service_account"]) == 15
    assert [r["status"] for r in k8s_api.server.requests_for("expire-once")
            if "status" in r] == [410]


def test_it_fails_on_malformed_json(k8s_api):
    got, error = drain(connector_for("kubernetes", k8s_api.config("malformed-json")))

    assert got == []
    assert type(error) is ConnectorError
    assert "malformed JSON for serviceaccounts" in str(error)


def test_it_fails_on_a_malformed_record_and_names_it(k8s_api):
    got, error = drain(connector_for("kubernetes", k8s_api.config("malformed-record")))

    assert "ml-training/trainer" in str(error)
    assert "metadata.uid missing" in str(error)
    assert "ml-training/trainer" not in [r.external_id for r in got]


@pytest.mark.parametrize(("config", "message"), [
    ({}, "'cluster_name' is required"),
    ({"cluster_name": "a/b", "host": "https://x"}, "'cluster_name' may hold"),
    ({"cluster_name": "c", "kubeconfig": "/k", "host": "https://x"}, "use either"),
    ({"cluster_name": "c", "context": "prod"}, "'context' needs 'kubeconfig'"),
    ({"cluster_name": "c", "namespaces": ["ok", "Not_OK"]}, "invalid names: Not_OK"),
    ({"cluster_name": "c", "verify_ssl": "maybe"}, "'verify_ssl' must be true or false"),
    ({"cluster_name": "c", "page_size": 0}, "'page_size' must be a whole number"),
    ({"cluster_name": "c", "token": "abc"}, "unknown parameter 'token'"),
])
def test_it_rejects_bad_configuration(config, message):
    with pytest.raises(BadConfig, match=message):
        connector_for("kubernetes", config)


def test_it_reports_unusable_credential_files_as_bad_config(k8s_api, tmp_path, monkeypatch):
    missing = connector_for("kubernetes", k8s_api.config(token_file=str(tmp_path / "none")))
    assert missing.check().error_kind == "bad_config"
    assert "cannot read token_file" in missing.check().summary

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    nowhere = connector_for("kubernetes", {"cluster_name": "c"}).check()
    assert (nowhere.error_kind, "KUBERNETES_SERVICE_HOST is not set" in nowhere.summary) == (
        "bad_config", True)
    bad_context = connector_for("kubernetes", {"cluster_name": "c", "context": "nope",
                                               "kubeconfig": k8s_api.kubeconfig()}).check()
    assert bad_context.error_kind == "bad_config"


def test_it_syncs_into_the_register(k8s_api, db):
    from inventory.models import Identity
    from inventory.sync import sync_records
    from tests.factories import SourceFactory

    source = SourceFactory(name="aif-prod-eu1", kind="kubernetes",
                           config=k8s_api.config())
    connector = connector_for("kubernetes", source.config)

    run = sync_records(source, connector.read())
    assert (run.status, run.seen, run.created) == ("succeeded", 19, 19)
    trainer = Identity.objects.get(source=source, external_id="aif-prod-eu1/ml-training/trainer")
    assert (trainer.privilege, trainer.environment.slug) == ("write", "production")
    again = sync_records(source, connector_for("kubernetes", source.config).read())
    assert (again.status, again.unchanged) == ("succeeded", 19)
