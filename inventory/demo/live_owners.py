"""Ownership for the identities whose source cannot carry it, and the SaaS export file.

Most demo identities carry their owners, team, purpose and zone where their source keeps
such things (IAM tags, Kubernetes annotations, Vault metadata, the import file), and the
sync fills the register from those hints. Some sources have no place for them: Vault's
Kubernetes and JWT auth roles hold no metadata, moto keeps no tags on IAM server
certificates, and an X.509 subject carries a team (OU) and an e-mail address at most.
For those, `fill_ownership` does what an analyst would in the portal: it fills the
fields that are still empty, through `inventory.editing.update_identity`, so every
change is audited with a reason. A field someone has set is never touched, and a second
run finds nothing to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from inventory.choices import Zone
from inventory.connectors.base import IdentityRecord
from inventory.demo.live_files import write_public
from inventory.editing import update_identity
from inventory.models import Environment, Identity
from nhigov.lib.audit import Actor
from ownership.models import Person, Team

REASON = ("Demo data: ownership an analyst recorded for an identity whose source has no "
          "place for it")
PEOPLE = {"technical_owner": "technical_owner", "business_owner": "business_owner",
          "backup_owner": "backup_owner"}
TEXT = ("purpose", "workload")


@dataclass
class Ownership:
    """What the register should say about one identity: hints and an environment slug."""

    hints: dict = field(default_factory=dict)
    environment: str = ""


def fill_ownership(wanted: dict[str, Ownership], actor: Actor) -> int:
    """Fill the empty people-owned fields of the identities named by external id; returns
    how many identities changed."""
    people = {p.email.lower(): p for p in Person.objects.filter(is_active=True)}
    teams = {}
    for team in Team.objects.all():
        teams[team.slug.lower()] = teams[team.name.lower()] = team
    environments = {e.slug: e for e in Environment.objects.all()}
    changed = 0
    rows = Identity.objects.filter(external_id__in=list(wanted)).select_related(
        "technical_owner", "business_owner", "backup_owner", "team", "environment")
    for identity in rows.order_by("id"):
        own = wanted[identity.external_id]
        changes = _changes(identity, own, people, teams, environments)
        if changes and update_identity(identity, changes, actor, REASON):
            changed += 1
    return changed


def _changes(identity: Identity, own: Ownership, people: dict, teams: dict,
             environments: dict) -> dict:
    hints, changes = own.hints, {}
    for name, key in PEOPLE.items():
        person = people.get(str(hints.get(key, "")).lower())
        if person and getattr(identity, f"{name}_id") is None:
            changes[name] = person
    team = teams.get(str(hints.get("team", "")).lower())
    if team and identity.team_id is None:
        changes["team"] = team
    zone = str(hints.get("zone", "")).lower()
    if zone in Zone.values and not identity.zone:
        changes["zone"] = zone
    for name in TEXT:
        if hints.get(name) and not getattr(identity, name):
            changes[name] = str(hints[name])[:255 if name == "workload" else None]
    env = environments.get(own.environment)
    if env and identity.environment_id is None:
        changes["environment"] = env
    return changes


# --- the SaaS vendors' key export ---------------------------------------------------------

OWNER_COLUMNS = ("technical_owner", "business_owner", "backup_owner", "team", "purpose",
                 "zone", "workload", "change_ticket")


def _when(value) -> str | None:
    return value.isoformat() if value else None


def saas_export(records: list[IdentityRecord], path: Path) -> bytes:
    """The SaaS API keys as an import file (JSON: unlike CSV it carries each key's
    credential rows: key ids, expiry, last use). Written to `path`; returns its bytes."""
    rows = []
    for r in records:
        row = {"name": r.name, "kind": r.kind, "provider": r.provider,
               "external_id": r.external_id, "path": r.path, "environment": r.environment,
               "privilege": r.privilege, "permissions_summary": r.permissions_summary,
               "interactive_login": r.interactive_login, "auth_method": r.auth_method,
               "created_at_source": _when(r.created_at_source),
               "last_used_at": _when(r.last_used_at),
               "last_rotated_at": _when(r.last_rotated_at),
               "expires_at": _when(r.expires_at), "status": r.status, "tags": list(r.tags),
               "credentials": [{
                   "kind": c.kind, "external_id": c.external_id, "fingerprint": c.fingerprint,
                   "created_at_source": _when(c.created_at_source),
                   "last_used_at": _when(c.last_used_at), "expires_at": _when(c.expires_at),
                   "status": c.status, "key_algorithm": c.key_algorithm,
                   "key_size": c.key_size} for c in r.credentials]}
        row.update({k: v for k, v in r.owner_hints.items() if k in OWNER_COLUMNS})
        rows.append({k: v for k, v in row.items() if v not in (None, "")})
    data = json.dumps({"identities": rows}, indent=1).encode()
    write_public(path, data.decode())
    return data
