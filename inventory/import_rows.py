"""Validating one import row into an IdentityRecord, collecting every problem found.

People-owned columns (owners, team, purpose, zone, workload, change ticket) become
`owner_hints`: sync fills empty fields from them and never overwrites portal edits.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import models

from inventory.choices import (
    AuthMethod,
    CredentialKind,
    CredentialStatus,
    IdentityKind,
    IdentityStatus,
    Privilege,
    Provider,
    Zone,
)
from inventory.connectors.base import CredentialRecord, IdentityRecord
from inventory.import_formats import RawRow

# column -> (required, help); the page and the example CSV are built from this table.
COLUMNS: dict[str, tuple[bool, str]] = {
    "name": (True, "Account, key or role name."),
    "kind": (True, "One of: " + ", ".join(IdentityKind.values)),
    "provider": (True, "One of: " + ", ".join(Provider.values)),
    "external_id": (False, "Stable id at the source (ARN, UID, accessor). Default: "
                           "provider/kind/path-or-name."),
    "path": (False, "Full path or qualified name."),
    "environment": (False, "Environment slug, e.g. production; created if new."),
    "privilege": (False, "One of: " + ", ".join(Privilege.values)),
    "permissions_summary": (False, "Short text."),
    "interactive_login": (False, "true/false: can it log in to a console?"),
    "auth_method": (False, "One of: " + ", ".join(AuthMethod.values)),
    "created_at_source": (False, "ISO 8601 date or date-time (UTC if no offset)."),
    "last_used_at": (False, "ISO 8601."),
    "last_rotated_at": (False, "ISO 8601."),
    "expires_at": (False, "ISO 8601."),
    "status": (False, "active, disabled or deprovisioned (default active)."),
    "tags": (False, "Separated by ';' in CSV, a list in JSON."),
    "technical_owner": (False, "Email; a person is created if unknown. Fills an empty field."),
    "business_owner": (False, "Email; as technical_owner."),
    "backup_owner": (False, "Email; as technical_owner."),
    "team": (False, "Existing team slug or name. Fills an empty field."),
    "purpose": (False, "Why the identity exists. Fills an empty field."),
    "zone": (False, "One of: " + ", ".join(Zone.values) + ". Fills an empty field."),
    "workload": (False, "The workload using it. Fills an empty field."),
    "change_ticket": (False, "Change or request ticket. Fills an empty field."),
}
REQUIRED = {name for name, (required, _) in COLUMNS.items() if required}
CSV_COLUMNS = set(COLUMNS)
JSON_FIELDS = CSV_COLUMNS | {"credentials"}
CREDENTIAL_FIELDS = {"kind", "external_id", "fingerprint", "created_at_source", "last_used_at",
                     "expires_at", "status", "key_algorithm", "key_size"}
LIMITS = {"name": 255, "path": 1024, "external_id": 512, "workload": 255,
          "change_ticket": 100, "permissions_summary": 10_000, "purpose": 10_000}
OWNER_COLUMNS = ("technical_owner", "business_owner", "backup_owner")
HINT_COLUMNS = (*OWNER_COLUMNS, "team", "purpose", "zone", "workload", "change_ticket")
DATE_COLUMNS = ("created_at_source", "last_used_at", "last_rotated_at", "expires_at")
IMPORT_STATUSES = [IdentityStatus.ACTIVE, IdentityStatus.DISABLED, IdentityStatus.DEPROVISIONED]
_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0", ""}


def _text(row: RawRow, name: str, source: dict | None = None, label: str = "") -> str:
    value = (row.values if source is None else source).get(name)
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        row.error(label or name, "Expected text.")
        return ""
    value = str(value).strip()
    if name in LIMITS and len(value) > LIMITS[name]:
        row.error(label or name, f"Longer than {LIMITS[name]} characters.")
    return value


def _choice(row: RawRow, name: str, choices: type[models.TextChoices] | list, default: str = "",
            source: dict | None = None, label: str = "") -> str:
    value = _text(row, name, source, label)
    if not value:
        return default
    pairs = choices.choices if isinstance(choices, type) else [(c, c.label) for c in choices]
    for key, text in pairs:
        if value.lower() in (key, str(text).lower()):
            return key
    row.error(label or name, f"{value!r} is not one of: {', '.join(k for k, _ in pairs)}.")
    return default


def parse_when(value: str) -> datetime:
    """ISO 8601 date or date-time; no offset means UTC. Raises ValueError."""
    if len(value) == 10:
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _when(row: RawRow, name: str, source: dict | None = None, label: str = ""):
    value = _text(row, name, source, label)
    if not value:
        return None
    try:
        return parse_when(value)
    except ValueError:
        row.error(label or name, f"{value!r} is not an ISO 8601 date (e.g. 2025-01-31 or "
                                 "2025-01-31T09:30:00Z).")
        return None


def _bool(row: RawRow, name: str) -> bool:
    value = row.values.get(name)
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text not in _TRUE | _FALSE:
        row.error(name, f"{value!r} is not a yes/no value (use true or false).")
    return text in _TRUE


def _email(row: RawRow, name: str) -> str:
    value = _text(row, name).lower()
    if value:
        try:
            validate_email(value)
        except ValidationError:
            row.error(name, f"{value!r} is not a valid email address.")
            return ""
    return value


def _tags(row: RawRow) -> list[str]:
    value = row.values.get("tags")
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(";") if t.strip()]
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return [t.strip() for t in value if t.strip()]
    row.error("tags", "Expected a list of strings (or text separated by ';').")
    return []


def _environment(row: RawRow) -> str:
    value = _text(row, "environment").lower()
    if value:
        try:
            validate_slug(value)
            if len(value) > 40:
                raise ValidationError("too long")
        except ValidationError:
            row.error("environment", f"{value!r} is not a slug (letters, digits, '-' or '_', "
                                     "at most 40 characters).")
            return ""
    return value


def default_external_id(provider: str, kind: str, path: str, name: str) -> str:
    """Stable id for rows without one: the same row always maps to the same identity."""
    value = f"{provider}/{kind}/{path or name}"
    return value if len(value) <= LIMITS["external_id"] else (
        "sha256:" + hashlib.sha256(value.encode()).hexdigest())


def _credential(row: RawRow, index: int, data: Any) -> CredentialRecord | None:
    label = f"credentials[{index}]"
    if not isinstance(data, dict):
        row.error(label, "Expected an object.")
        return None
    for key in sorted(set(data) - CREDENTIAL_FIELDS):
        row.error(f"{label}.{key}", "Unknown credential field.")
    cred = CredentialRecord(
        kind=_choice(row, "kind", CredentialKind, "", data, f"{label}.kind"),
        external_id=_text(row, "external_id", data, f"{label}.external_id")[:255],
        fingerprint=_text(row, "fingerprint", data, f"{label}.fingerprint")[:128],
        created_at_source=_when(row, "created_at_source", data, f"{label}.created_at_source"),
        last_used_at=_when(row, "last_used_at", data, f"{label}.last_used_at"),
        expires_at=_when(row, "expires_at", data, f"{label}.expires_at"),
        status=_choice(row, "status", CredentialStatus, "active", data, f"{label}.status"),
        key_algorithm=_text(row, "key_algorithm", data, f"{label}.key_algorithm")[:20],
        key_size=_key_size(row, data.get("key_size"), f"{label}.key_size"),
    )
    for name in ("kind", "external_id"):
        if data.get(name) in (None, ""):
            row.error(f"{label}.{name}", "Required.")
    return cred


def _key_size(row: RawRow, value: Any, label: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31:
        return value
    row.error(label, "Expected a positive whole number.")
    return None


def _credentials(row: RawRow) -> list[CredentialRecord]:
    value = row.values.get("credentials")
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        row.error("credentials", "Expected a list of credential objects.")
        return []
    return [c for i, d in enumerate(value, start=1) if (c := _credential(row, i, d))]


def _hints(row: RawRow) -> dict[str, str]:
    hints = {name: _email(row, name) for name in OWNER_COLUMNS}
    hints["team"] = _text(row, "team")
    hints["zone"] = _choice(row, "zone", Zone)
    for name in ("purpose", "workload", "change_ticket"):
        hints[name] = _text(row, name)
    return {key: value for key, value in hints.items() if value}


def parse_row(row: RawRow) -> IdentityRecord:
    """Validate `row` into a record; problems are appended to `row.errors`."""
    for name in sorted(REQUIRED):
        value = row.values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            row.error(name, "Required.")
    record = IdentityRecord(
        external_id="", provider=_choice(row, "provider", Provider),
        kind=_choice(row, "kind", IdentityKind), name=_text(row, "name"),
        path=_text(row, "path"), environment=_environment(row),
        privilege=_choice(row, "privilege", Privilege, Privilege.UNKNOWN),
        permissions_summary=_text(row, "permissions_summary"),
        interactive_login=_bool(row, "interactive_login"),
        auth_method=_choice(row, "auth_method", AuthMethod, AuthMethod.UNKNOWN),
        status=_choice(row, "status", IMPORT_STATUSES, IdentityStatus.ACTIVE),
        tags=_tags(row), owner_hints=_hints(row), credentials=_credentials(row),
        **{name: _when(row, name) for name in DATE_COLUMNS},
    )
    record.external_id = _text(row, "external_id") or default_external_id(
        record.provider, record.kind, record.path, record.name)
    return record
