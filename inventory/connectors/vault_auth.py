"""Auth-method roles for the vault connector: AppRole roles with their secret-id
accessors, Kubernetes roles and JWT/OIDC roles. Each role is one identity.

What is never touched: `role-id` (with `bind_secret_id=false` it alone logs in, so it is
treated as a secret and not read at all) and secret-id values (only accessors are listed
and looked up). Fields are copied from Vault's answers by name, never wholesale.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from inventory.choices import (
    AuthMethod,
    CredentialKind,
    CredentialStatus,
    IdentityKind,
    Provider,
)
from inventory.connectors.base import CredentialRecord, IdentityRecord
from inventory.connectors.vault_client import iso, owner_hints_from, parse_time
from inventory.connectors.vault_policy import PolicyBook

SHORT_LIVED = timedelta(hours=24)
_TOKEN_FIELDS = ("token_ttl", "token_max_ttl", "token_explicit_max_ttl", "token_period",
                 "token_type", "token_num_uses", "token_bound_cidrs",
                 "token_no_default_policy")


def _token_settings(role: dict) -> dict:
    """The token-shaping settings every auth role shares."""
    out = {k: role[k] for k in _TOKEN_FIELDS if k in role}
    # Older roles keep policies under `policies`; newer ones under `token_policies`.
    out["token_policies"] = sorted(role.get("token_policies") or role.get("policies") or [])
    return out


def _roles(vault, mount: str) -> list[str]:
    # 404 (no roles yet) comes back as None: an auth mount without roles is normal.
    return sorted(vault.list(f"auth/{mount}/role") or [])


class RoleReader:
    """Shared shape of the per-auth-type readers: list roles, read each, build records."""

    kind_prefix = ""

    def __init__(self, vault, mount: str, mount_info: dict, policies: PolicyBook,
                 now: datetime):
        self.vault, self.mount, self.info = vault, mount, mount_info
        self.policies, self.now = policies, now
        self._mount_config: dict | None = None

    def mount_config(self) -> dict:
        """The auth mount's config, read once and only where permitted; callers copy
        single non-secret fields from it (never the reviewer JWT, CA or client secret)."""
        if self._mount_config is None:
            self._mount_config = self.vault.read(f"auth/{self.mount}/config",
                                                 optional=True) or {}
        return self._mount_config

    def records(self) -> Iterator[IdentityRecord]:
        for name in _roles(self.vault, self.mount):
            role = self.vault.read(f"auth/{self.mount}/role/{name}")
            if role is not None:  # deleted between list and read
                yield self.record(name, role)

    def record(self, name: str, role: dict) -> IdentityRecord:
        raise NotImplementedError

    def base(self, name: str, role: dict, kind: str = IdentityKind.VAULT_AUTH_ROLE,
             **extra) -> IdentityRecord:
        settings = _token_settings(role)
        assessed = self.policies.assess(settings["token_policies"],
                                        with_default=not role.get("token_no_default_policy"))
        attributes = {"mount": self.mount, "mount_type": self.info.get("type", ""),
                      "mount_accessor": self.info.get("accessor", ""), "role": name,
                      **settings}
        if assessed.unreadable:
            attributes["unreadable_policies"] = assessed.unreadable
        return IdentityRecord(
            external_id=f"{self.kind_prefix}:{self.mount}/{name}", provider=Provider.VAULT,
            kind=kind, name=f"{self.mount}/{name}",
            path=f"auth/{self.mount}/role/{name}", privilege=assessed.privilege,
            permissions_summary=assessed.summary(), attributes=attributes, **extra)


class AppRoleReader(RoleReader):
    """AppRole roles; credentials are the role's secret-id accessors."""

    kind_prefix = "approle"
    _ROLE_FIELDS = ("bind_secret_id", "secret_id_ttl", "secret_id_num_uses",
                    "secret_id_bound_cidrs", "local_secret_ids")
    _SECRET_ID_FIELDS = ("secret_id_num_uses", "secret_id_ttl", "cidr_list",
                         "token_bound_cidrs")

    def record(self, name: str, role: dict) -> IdentityRecord:
        creds, hints = self.secret_ids(name)
        record = self.base(name, role, kind=IdentityKind.VAULT_APPROLE)
        record.attributes.update({k: role[k] for k in self._ROLE_FIELDS if k in role})
        record.attributes["secret_id_count"] = len(creds)
        record.auth_method = self.auth_method(role)
        created = [c.created_at_source for c in creds if c.created_at_source]
        # The role is "rotated" whenever a new secret-id is issued.
        record.last_rotated_at = max(created) if created else None
        record.credentials = creds
        record.owner_hints = hints
        record.environment = hints.get("environment", "")
        return record

    @staticmethod
    def auth_method(role: dict) -> str:
        ttl = role.get("secret_id_ttl") or 0
        if role.get("bind_secret_id", True) and 0 < ttl <= SHORT_LIVED.total_seconds():
            return AuthMethod.SHORT_LIVED_TOKEN
        return AuthMethod.STATIC_SECRET

    def secret_ids(self, role: str) -> tuple[list[CredentialRecord], dict]:
        """Secret-id accessors with their lookups, and the owner hints of the newest
        secret-id's metadata (AppRole roles carry no metadata of their own)."""
        base = f"auth/{self.mount}/role/{role}"
        creds, newest = [], (None, {})
        for accessor in sorted(self.vault.list(f"{base}/secret-id") or []):
            entry = self.vault.post(f"{base}/secret-id-accessor/lookup",
                                    {"secret_id_accessor": accessor})
            if entry is None:  # expired and tidied between list and lookup
                continue
            cred = self.credential(accessor, entry)
            creds.append(cred)
            created = cred.created_at_source
            if created and (newest[0] is None or created > newest[0]):
                newest = (created, entry.get("metadata") or {})
        return creds, owner_hints_from(newest[1])

    def credential(self, accessor: str, entry: dict) -> CredentialRecord:
        expires = parse_time(entry.get("expiration_time"))
        status = (CredentialStatus.EXPIRED if expires and expires <= self.now
                  else CredentialStatus.ACTIVE)
        attributes = {k: entry[k] for k in self._SECRET_ID_FIELDS if k in entry}
        attributes["metadata"] = {str(k): str(v) for k, v in
                                  (entry.get("metadata") or {}).items()}
        attributes["last_updated_time"] = iso(parse_time(entry.get("last_updated_time")))
        return CredentialRecord(
            kind=CredentialKind.SECRET_ID, external_id=accessor,
            created_at_source=parse_time(entry.get("creation_time")), expires_at=expires,
            status=status, attributes=attributes)


class KubernetesReader(RoleReader):
    """Kubernetes auth roles: which service accounts in which namespaces may log in."""

    kind_prefix = "kubernetes"
    _FIELDS = ("bound_service_account_names", "bound_service_account_namespaces",
               "bound_service_account_namespace_selector", "audience", "alias_name_source")

    def record(self, name: str, role: dict) -> IdentityRecord:
        record = self.base(name, role, auth_method=AuthMethod.WORKLOAD_FEDERATION)
        record.attributes.update({k: role[k] for k in self._FIELDS if k in role})
        names = role.get("bound_service_account_names") or []
        spaces = role.get("bound_service_account_namespaces") or []
        record.attributes["unbounded"] = ("*" in names and
                                          ("*" in spaces or not spaces) and
                                          not role.get("bound_service_account_namespace_selector"))
        if len(names) == 1 and len(spaces) == 1 and "*" not in names + spaces:
            record.owner_hints = {"workload": f"{spaces[0]}/{names[0]}"}
        host = self.mount_config().get("kubernetes_host")
        if host:
            record.attributes["kubernetes_host"] = host
        return record


class JwtReader(RoleReader):
    """JWT/OIDC auth roles: which subjects and claims a token must carry to log in."""

    kind_prefix = "jwt"
    _FIELDS = ("role_type", "bound_subject", "bound_audiences", "bound_claims",
               "bound_claims_type", "user_claim", "groups_claim", "claim_mappings",
               "allowed_redirect_uris", "oidc_scopes")

    def record(self, name: str, role: dict) -> IdentityRecord:
        record = self.base(name, role, auth_method=AuthMethod.WORKLOAD_FEDERATION)
        record.attributes.update({k: role[k] for k in self._FIELDS if k in role})
        # Without a subject or claim binding any token from the issuer (with the right
        # audience) logs in: the OWASP NHI6 "trust without a subject condition".
        record.attributes["unbounded"] = not (role.get("bound_subject")
                                              or role.get("bound_claims"))
        # OIDC roles are browser logins for people.
        record.interactive_login = role.get("role_type") == "oidc"
        cfg = self.mount_config()
        issuer = cfg.get("bound_issuer") or cfg.get("oidc_discovery_url") or cfg.get("jwks_url")
        if issuer:
            record.attributes["issuer"] = str(issuer)
        return record


READERS = {"approle": AppRoleReader, "kubernetes": KubernetesReader, "jwt": JwtReader,
           "oidc": JwtReader}
