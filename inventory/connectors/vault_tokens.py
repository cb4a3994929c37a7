"""Token accessors for the vault connector: each token of the token store is one identity.

Listing `auth/token/accessors` needs `list` + `sudo`; where the connector's token lacks
that, tokens are skipped (the rest of the source is still read) and `check()` says so.

Which tokens: those created through the token store (`auth/token/create*`: what people
hand to scripts and CI) and every root token, however made. Tokens issued by logins to
other auth methods (AppRole, Kubernetes, JWT...) are short-lived children of a role that
is already registered; with thousands of them they would churn the register, so they are
left out unless the source sets `include_login_tokens`.

Only stable facts are kept: the creation TTL, not the remaining TTL (which would change
every run and turn each sync into an update). The lookup's `id` field is never read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from inventory.choices import AuthMethod, CredentialKind, IdentityKind, Provider
from inventory.connectors.base import AccessDenied, CredentialRecord, IdentityRecord
from inventory.connectors.vault_client import iso, owner_hints_from, parse_time
from inventory.connectors.vault_policy import PolicyBook

logger = logging.getLogger(__name__)

SHORT_LIVED = timedelta(hours=24)
ACCESSORS_PATH = "auth/token/accessors"


def token_auth_method(entry: dict) -> str:
    """Short-lived when it dies within a day of creation and cannot be renewed forever.

    A periodic token without an explicit max TTL lives as long as it is renewed, so it is
    as long-lived as a static secret whatever its period."""
    ttl = int(entry.get("creation_ttl") or 0)
    if entry.get("period") and not entry.get("explicit_max_ttl"):
        return AuthMethod.STATIC_SECRET
    if 0 < ttl <= SHORT_LIVED.total_seconds():
        return AuthMethod.SHORT_LIVED_TOKEN
    return AuthMethod.STATIC_SECRET


def is_token_store_token(entry: dict) -> bool:
    policies = entry.get("policies") or []
    return str(entry.get("path") or "").startswith("auth/token/") or "root" in policies


class TokenReader:
    """Lists token accessors (where permitted) and looks each one up."""

    def __init__(self, vault, policies: PolicyBook, include_login_tokens: bool = False):
        self.vault, self.policies = vault, policies
        self.include_login_tokens = include_login_tokens

    def records(self) -> Iterator[IdentityRecord]:
        accessors = self.vault.list(ACCESSORS_PATH, optional=True)
        if accessors is None:
            logger.info("Vault %s: token accessors not listable; tokens skipped",
                        self.vault.url)
            return
        first = True
        for accessor in sorted(accessors):
            try:
                entry = self.vault.post("auth/token/lookup-accessor", {"accessor": accessor})
            except AccessDenied:
                if not first:
                    raise
                # Listing is allowed but lookups are not: same as not permitted at all.
                logger.info("Vault %s: token lookups denied; tokens skipped", self.vault.url)
                return
            first = False
            if entry is None:  # expired or revoked since the listing
                continue
            if self.include_login_tokens or is_token_store_token(entry):
                yield self.record(accessor, entry)

    def record(self, accessor: str, entry: dict) -> IdentityRecord:
        policies = sorted(str(p) for p in entry.get("policies") or [])
        assessed = self.policies.assess(policies)
        created = parse_time(entry.get("creation_time"))
        expires = parse_time(entry.get("expire_time"))
        meta = {str(k): str(v) for k, v in (entry.get("meta") or {}).items()}
        hints = owner_hints_from(meta)
        attributes = {
            "accessor": accessor, "display_name": entry.get("display_name", ""),
            "policies": policies, "orphan": bool(entry.get("orphan")),
            "ttl": int(entry.get("creation_ttl") or 0),
            "explicit_max_ttl": int(entry.get("explicit_max_ttl") or 0),
            "period": int(entry.get("period") or 0), "renewable": bool(entry.get("renewable")),
            "type": entry.get("type", ""), "num_uses": int(entry.get("num_uses") or 0),
            "entity_id": entry.get("entity_id", ""), "creation_path": entry.get("path", ""),
            "creation_time": iso(created), "expire_time": iso(expires), "meta": meta,
            "root": "root" in policies,
        }
        if assessed.unreadable:
            attributes["unreadable_policies"] = assessed.unreadable
        renewed = parse_time(entry.get("last_renewal_time"))
        credential = CredentialRecord(kind=CredentialKind.TOKEN, external_id=accessor,
                                      created_at_source=created, expires_at=expires,
                                      last_used_at=renewed)
        return IdentityRecord(
            external_id=f"token:{accessor}", provider=Provider.VAULT,
            kind=IdentityKind.VAULT_TOKEN,
            name=str(entry.get("display_name") or f"token {accessor[:8]}"),
            path=str(entry.get("path") or ""), environment=hints.get("environment", ""),
            privilege=assessed.privilege, permissions_summary=assessed.summary(),
            auth_method=token_auth_method(entry), created_at_source=created,
            last_used_at=renewed, expires_at=expires, attributes=attributes,
            owner_hints=hints, credentials=[credential])
