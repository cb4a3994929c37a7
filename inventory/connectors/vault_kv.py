"""KV secret metadata for the vault connector: one `secret` identity per stored secret.

Only `<mount>/metadata/...` is listed and read (KV v2); the `data` endpoint is never
called, so no secret value is ever fetched. A KV v1 mount has no metadata endpoint: its
keys are listed (a LIST returns names only) and reported without timestamps.

Owner hints come from KV v2 `custom_metadata` (owner, team, purpose, env...).
"""

from __future__ import annotations

from collections.abc import Iterator

from inventory.choices import AuthMethod, IdentityKind, IdentityStatus, Provider
from inventory.connectors.base import AccessDenied, BadConfig, IdentityRecord
from inventory.connectors.vault_client import iso, owner_hints_from, parse_duration, parse_time

_META_FIELDS = ("current_version", "oldest_version", "max_versions", "cas_required",
                "delete_version_after")


def kv_version(vault, mount: str) -> str:
    """'1' or '2' for a KV mount; BadConfig when the mount is not a KV engine."""
    # sys/internal/ui/mounts answers for any token with some access to the mount, so
    # the connector needs no read on sys/mounts.
    try:
        info = vault.read(f"sys/internal/ui/mounts/{mount}")
    except AccessDenied as exc:
        # Vault answers 403 both for a mount that does not exist and for no access.
        raise AccessDenied(f"Cannot see KV mount '{mount}' in Vault at {vault.url}: it does "
                           "not exist, or the token has no access to it.") from exc
    if not info:
        raise BadConfig(f"KV mount '{mount}' was not found in Vault at {vault.url}.")
    if info.get("type") not in ("kv", "generic"):
        raise BadConfig(f"Mount '{mount}' is a '{info.get('type')}' engine, not KV: remove "
                        "it from kv_mounts.")
    return str((info.get("options") or {}).get("version") or "1")


def walk(vault, list_prefix: str) -> Iterator[str]:
    """Every leaf key under a LIST-able prefix, depth first, in sorted order."""
    stack = [""]
    while stack:
        folder = stack.pop()
        keys = vault.list(f"{list_prefix}/{folder}".rstrip("/")) or []
        for key in sorted(keys, reverse=True):  # reversed: the stack pops in order
            if key.endswith("/"):
                stack.append(folder + key)
        for key in sorted(keys):
            if not key.endswith("/"):
                yield folder + key


def read_kv(vault, mount: str) -> Iterator[IdentityRecord]:
    """Secret records for one KV mount (metadata only)."""
    if kv_version(vault, mount) == "2":
        for path in walk(vault, f"{mount}/metadata"):
            meta = vault.read(f"{mount}/metadata/{path}")
            if meta is not None:  # deleted between list and read
                yield kv2_record(mount, path, meta)
    else:
        for path in walk(vault, mount):
            yield _base(mount, path, {"mount": mount, "kv_version": 1})


def _base(mount: str, path: str, attributes: dict, **extra) -> IdentityRecord:
    return IdentityRecord(
        external_id=f"kv:{mount}/{path}", provider=Provider.VAULT, kind=IdentityKind.SECRET,
        name=f"{mount}/{path}", path=f"{mount}/{path}", auth_method=AuthMethod.STATIC_SECRET,
        attributes=attributes, **extra)


def kv2_record(mount: str, path: str, meta: dict) -> IdentityRecord:
    versions = meta.get("versions") or {}
    current = versions.get(str(meta.get("current_version"))) or {}
    current_created = parse_time(current.get("created_time"))
    removed = bool(current.get("destroyed") or parse_time(current.get("deletion_time")))
    custom = {str(k): str(v) for k, v in (meta.get("custom_metadata") or {}).items()}
    hints = owner_hints_from(custom)
    keep_for = parse_duration(meta.get("delete_version_after"))
    attributes = {k: meta[k] for k in _META_FIELDS if k in meta}
    attributes.update({
        "mount": mount, "kv_version": 2, "versions": len(versions),
        "live_versions": sum(1 for v in versions.values()
                             if not v.get("destroyed") and not parse_time(v.get("deletion_time"))),
        "created_time": iso(parse_time(meta.get("created_time"))),
        "updated_time": iso(parse_time(meta.get("updated_time"))),
        "current_version_created": iso(current_created),
        "current_version_deleted": removed, "custom_metadata": custom,
    })
    return _base(
        mount, path, attributes,
        created_at_source=parse_time(meta.get("created_time")),
        # The value last changed when the current version was written.
        last_rotated_at=current_created,
        # delete_version_after makes Vault delete each version that long after writing it.
        expires_at=current_created + keep_for if current_created and keep_for else None,
        status=IdentityStatus.DISABLED if removed else IdentityStatus.ACTIVE,
        environment=hints.get("environment", ""), owner_hints=hints)
