"""HashiCorp Vault / OpenBao connector (hvac).

Reads, for one Vault (and one namespace):

* auth methods (`sys/auth`, or only the mounts listed in `auth_mounts`);
* AppRole roles (`vault_approle`, `approle:<mount>/<role>`) with token TTLs, secret-id
  TTL/uses, CIDR bounds and policies; their secret-id accessors are the credentials
  (kind `secret_id`, external id = accessor, created/expires/uses);
* Kubernetes and JWT/OIDC auth roles (`vault_auth_role`, `kubernetes:<mount>/<role>`,
  `jwt:<mount>/<role>`) with their bound service accounts, subjects and claims;
* token-store tokens and root tokens (`vault_token`, `token:<accessor>`), where the
  connector's token may list accessors (see vault_tokens);
* KV secret metadata (`secret`, `kv:<mount>/<path>`) for the mounts in `kv_mounts`.

Privilege comes from reading each policy once (see vault_policy): sudo, `*` paths and
writes to policy/auth/mount paths are admin.

Decisions:

* **Never a secret value**: KV `data` endpoints, AppRole `role-id` and secret-id values
  are never requested; lookups are copied field by field. The role-id is not used even
  as an external id: with `bind_secret_id=false` it is the whole login credential.
  External ids are the role's mount and name, which are stable and not secret.
* **Errors**: failing to list or read something the configuration asks for raises
  (Unreachable/AccessDenied/BadConfig/ConnectorError naming the path), so the run fails
  and nothing is marked missing. Token accessors are the one "where permitted" part:
  when they may not be listed, tokens are skipped and `check()` reports it.
* **Malformed answers** (a value of the wrong type, a proxy's HTML page, JSON without
  Vault's `data` object) raise ConnectorError naming the last path read: a run that went
  on would look like an emptied or corrupted source. An empty Vault is a valid, empty run.
* Accessors that vanish between listing and lookup (expired, revoked) are skipped.
* The token of an AppRole login is not revoked after the run: give the connector's role
  a short `token_ttl`.

The least-privilege policy for the connector is LEAST_PRIVILEGE_POLICY below (adjust
`secret/` to the KV v2 mounts; a KV v1 mount needs `list` on `<mount>/*`; `auth/+/config`
is optional and only yields the Kubernetes API host and the JWT issuer). The demo's
OpenBao and tests/live/servers_vault.py run it as it stands.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

from inventory.choices import SourceKind
from inventory.connectors.base import (
    AccessDenied,
    BadConfig,
    CheckResult,
    Connector,
    ConnectorError,
    IdentityRecord,
    Param,
    register,
)
from inventory.connectors.vault_auth import READERS
from inventory.connectors.vault_client import (
    Vault,
    as_list,
    open_vault,
    parse_time,
    translate,
    truthy,
)
from inventory.connectors.vault_kv import kv_version, read_kv
from inventory.connectors.vault_policy import PolicyBook
from inventory.connectors.vault_tokens import ACCESSORS_PATH, TokenReader

# What the connector needs, and no more: its own reads, never a secret value.
LEAST_PRIVILEGE_POLICY = """
path "sys/auth"                                  { capabilities = ["read"] }
path "sys/policies/acl/*"                        { capabilities = ["read"] }
path "auth/+/role/"                              { capabilities = ["list"] }
path "auth/+/role/+"                             { capabilities = ["read"] }
path "auth/+/config"                             { capabilities = ["read"] }
path "auth/+/role/+/secret-id/"                  { capabilities = ["list"] }
path "auth/+/role/+/secret-id-accessor/lookup"   { capabilities = ["update"] }
path "auth/token/accessors/"                     { capabilities = ["list", "sudo"] }
path "auth/token/lookup-accessor"                { capabilities = ["update"] }
path "secret/metadata/*"                         { capabilities = ["read", "list"] }
"""


def whoami(vault: Vault) -> dict:
    """The connector token's own lookup (display name, policies, TTL; never its id)."""
    try:
        data = vault.read("auth/token/lookup-self") or {}
    except AccessDenied as exc:
        raise AccessDenied(f"Vault at {vault.url} refused the token: it is invalid, expired, "
                           "or lacks the 'default' policy (lookup-self denied).") from exc
    return {"display_name": data.get("display_name", ""),
            "policies": sorted(data.get("policies") or []),
            "ttl": int(data.get("ttl") or 0),
            "expire_time": (t.isoformat() if (t := parse_time(data.get("expire_time")))
                            else None)}


def auth_mounts(vault: Vault, wanted: list[str]) -> list[tuple[str, dict]]:
    """(mount path, mount info) for the auth methods to read."""
    if wanted:
        return [(mount, _auth_mount(vault, mount)) for mount in wanted]
    try:
        data = vault.read("sys/auth") or {}
    except AccessDenied as exc:
        raise AccessDenied(f"Vault at {vault.url} denied listing auth methods (read on "
                           "sys/auth): grant it, or list the mounts in 'auth_mounts'.") from exc
    return sorted((path.strip("/"), info) for path, info in data.items()
                  if isinstance(info, dict) and info.get("type"))


def _auth_mount(vault: Vault, mount: str) -> dict:
    try:
        info = vault.read(f"sys/internal/ui/mounts/auth/{mount}")
    except AccessDenied as exc:
        raise AccessDenied(f"Cannot see auth mount '{mount}' in Vault at {vault.url}: it "
                           "does not exist, or the token has no access to it.") from exc
    if not info:
        raise BadConfig(f"Auth mount '{mount}' was not found in Vault at {vault.url}.")
    return info


def tokens_permitted(vault: Vault) -> bool:
    # A LIST is checked against the path with a trailing slash; ask about both spellings.
    paths = [ACCESSORS_PATH, f"{ACCESSORS_PATH}/"]
    caps = vault.post("sys/capabilities-self", {"paths": paths}, optional=True) or {}
    for path in paths:
        granted = set(caps.get(path) or [])
        if "root" in granted or {"list", "sudo"} <= granted:
            return True
    return False


@register
class VaultConnector(Connector):
    """Discovers AppRoles, auth roles, tokens and KV secret metadata in Vault/OpenBao."""

    name = SourceKind.VAULT.value
    title = "Vault / OpenBao"
    params = [
        Param("url", "Vault API address, e.g. https://vault.example.com:8200", required=True),
        Param("token_env", "Name of the environment variable holding the Vault token",
              default="VAULT_TOKEN"),
        Param("token_file", "Path of a mounted file holding the Vault token (wins over "
              "token_env)"),
        Param("approle_mount", "AppRole mount to log in through", default="approle"),
        Param("role_id_env", "Name of the environment variable holding the AppRole "
              "role-id (enables AppRole login)"),
        Param("role_id_file", "Path of a mounted file holding the AppRole role-id"),
        Param("secret_id_env", "Name of the environment variable holding the AppRole "
              "secret-id"),
        Param("secret_id_file", "Path of a mounted file holding the AppRole secret-id"),
        Param("namespace", "Vault/OpenBao namespace to read (empty = root)"),
        Param("kv_mounts", "KV mounts whose secret metadata to read (list)", default=[]),
        Param("auth_mounts", "Only read these auth mounts (list; empty = all)", default=[]),
        Param("include_login_tokens", "Also register tokens issued by AppRole/Kubernetes/"
              "JWT logins (numerous, short-lived)", default=False),
        Param("ca_file", "CA bundle to verify Vault's TLS certificate"),
        Param("verify", "Verify Vault's TLS certificate", default=True),
        Param("timeout", "Seconds to wait for each Vault request", default=30),
    ]
    auth = ("A Vault token read from the environment variable named by 'token_env' "
            "(default VAULT_TOKEN) or the mounted file 'token_file'; or an AppRole login "
            "whose role-id and secret-id come from the environment variables/files named "
            "by role_id_env/role_id_file and secret_id_env/secret_id_file. No secret is "
            "ever stored in the source's configuration.")

    def check(self) -> CheckResult:
        try:
            vault = open_vault(self.config)
            try:
                return self._check(vault)
            finally:
                vault.close()
        except Exception as exc:  # "Test connection" reports every failure, never raises
            error = translate(exc, str(self.config.get("url")), "test the connection")
            return CheckResult(ok=False, summary=str(error), error_kind=error.kind)

    def _check(self, vault: Vault) -> CheckResult:
        me = whoami(vault)
        mounts = auth_mounts(vault, as_list(self.config["auth_mounts"]))
        types = Counter(str(info.get("type")) for _, info in mounts)
        tokens = tokens_permitted(vault)
        kv = {m: f"v{kv_version(vault, m)}" for m in as_list(self.config["kv_mounts"])}
        details = {
            **me, "namespace": self.config.get("namespace") or "",
            "auth_mounts": {path: str(info.get("type")) for path, info in mounts},
            "auth_mount_types": dict(sorted(types.items())), "kv_mounts": kv,
            "tokens": "readable" if tokens else
                      "not permitted: needs list and sudo on auth/token/accessors; "
                      "tokens are skipped",
        }
        kinds = ", ".join(f"{t} {n}" for t, n in sorted(types.items()))
        summary = (f"Connected to {vault.url} as '{me['display_name']}' (policies: "
                   f"{', '.join(me['policies'])}); {len(mounts)} auth mounts ({kinds}); "
                   f"token accessors {'readable' if tokens else 'not permitted'}; "
                   f"{len(kv)} KV mounts")
        return CheckResult(ok=True, summary=summary, details=details)

    def read(self) -> Iterator[IdentityRecord]:
        vault = open_vault(self.config)
        namespace = self.config.get("namespace") or ""
        try:
            whoami(vault)
            policies, now = PolicyBook(vault), datetime.now(UTC)
            for record in self._records(vault, policies, now):
                if namespace:
                    record.attributes["namespace"] = namespace
                yield record
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ConnectorError(f"Vault at {vault.url} returned data the connector cannot "
                                 f"use (last path read: '{vault.last_path}'): "
                                 f"{type(exc).__name__}: {exc}") from exc
        finally:
            vault.close()

    def _records(self, vault: Vault, policies: PolicyBook,
                 now: datetime) -> Iterator[IdentityRecord]:
        for mount, info in auth_mounts(vault, as_list(self.config["auth_mounts"])):
            reader = READERS.get(str(info.get("type")))
            if reader:
                yield from reader(vault, mount, info, policies, now).records()
        include_login = truthy(self.config.get("include_login_tokens"))
        yield from TokenReader(vault, policies, include_login).records()
        for mount in as_list(self.config["kv_mounts"]):
            yield from read_kv(vault, mount)
