"""What a reviewer is shown, captured in SQL when a task is created.

Tasks are created set-based (one INSERT ... SELECT per campaign), so the snapshot is built
by the database from the identity row and its joins: `jsonb_build_object` on PostgreSQL,
`json_object` on SQLite. Reading it back turns timestamps into datetimes and codes into
labels, whichever database wrote it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from inventory.choices import AuthMethod, IdentityKind, Privilege, Provider, Zone

# (key in the snapshot, SQL expression over the joins below)
FIELDS = [
    ("code", "i.code"),
    ("name", "i.name"),
    ("kind", "i.kind"),
    ("provider", "i.provider"),
    ("external_id", "i.external_id"),
    ("source", "s.name"),
    ("environment", "e.name"),
    ("zone", "i.zone"),
    ("privilege", "i.privilege"),
    ("permissions", "i.permissions_summary"),
    ("auth_method", "i.auth_method"),
    ("interactive_login", "i.interactive_login"),
    ("status", "i.status"),
    ("last_used_at", "i.last_used_at"),
    ("last_rotated_at", "i.last_rotated_at"),
    ("expires_at", "i.expires_at"),
    ("technical_owner", "tp.email"),
    ("technical_owner_name", "tp.name"),
    ("business_owner", "bp.email"),
    ("business_owner_name", "bp.name"),
    ("team", "t.name"),
    ("purpose", "i.purpose"),
    ("workload", "i.workload"),
]

JOINS = """
    LEFT JOIN ownership_person tp ON tp.id = i.technical_owner_id
    LEFT JOIN ownership_person bp ON bp.id = i.business_owner_id
    LEFT JOIN inventory_source s ON s.id = i.source_id
    LEFT JOIN inventory_environment e ON e.id = i.environment_id
    LEFT JOIN ownership_team t ON t.id = i.team_id
"""


def snapshot_sql(vendor: str) -> str:
    """The SQL expression building the snapshot object for identity `i`."""
    func = "jsonb_build_object" if vendor == "postgresql" else "json_object"
    pairs = ", ".join(f"'{key}', {expr}" for key, expr in FIELDS)
    return f"{func}({pairs})"


def new_code_sql(vendor: str) -> str:
    """A random UUID made by the database, in the form Django stores UUIDField."""
    if vendor == "postgresql":
        return "gen_random_uuid()"
    return "lower(hex(randomblob(16)))"  # SQLite keeps UUIDs as 32 hex characters


def _when(value) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # SQLite stores UTC without an offset
    return parsed


def _label(choices, value) -> str:
    return str(dict(choices.choices).get(value, value or ""))


@dataclass
class Shown:
    """A snapshot read back for templates and emails."""

    data: dict

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name in ("last_used_at", "last_rotated_at", "expires_at"):
            return _when(self.data.get(name))
        return self.data.get(name)

    @property
    def code(self) -> str:
        raw = self.data.get("code")
        return str(uuid.UUID(str(raw))) if raw else ""

    @property
    def kind_label(self) -> str:
        return _label(IdentityKind, self.data.get("kind"))

    @property
    def provider_label(self) -> str:
        return _label(Provider, self.data.get("provider"))

    @property
    def zone_label(self) -> str:
        return _label(Zone, self.data.get("zone"))

    @property
    def privilege_label(self) -> str:
        return _label(Privilege, self.data.get("privilege"))

    @property
    def auth_method_label(self) -> str:
        return _label(AuthMethod, self.data.get("auth_method"))

    @property
    def interactive(self) -> bool:
        return bool(self.data.get("interactive_login"))
