"""Pure helpers for `inventory.sync`: record normalisation, the data hash, and the
per-run caches that turn owner hints and environment slugs into database ids.

Nothing here writes identities; environments are the one exception (created on first
sight of a slug, as the sync contract asks).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from datetime import UTC, date, datetime
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.text import slugify

from inventory.choices import IdentityStatus, Zone
from inventory.connectors.base import CredentialRecord, IdentityRecord
from inventory.models import Environment
from nhigov.lib.audit import jsonable
from ownership.models import Person, Team

# Bump when the set of hashed fields changes, so every row is rewritten once.
HASH_VERSION = "1"

# Fields people own: sync never overwrites them; hints only fill them while empty.
PERSON_HINTS = {
    "technical_owner_id": ("technical_owner", "owner"),
    "business_owner_id": ("business_owner",),
    "backup_owner_id": ("backup_owner",),
}
# Text fields a hint may fill, with their column limits (a long hint must not fail a batch).
TEXT_HINTS = {"purpose": None, "workload": 255, "change_ticket": 100}
PRODUCTION_SLUGS = {"production", "prod", "prd"}
ZONES = frozenset(Zone.values)  # TextChoices.values builds a new list on every access


def aware(value: datetime | date | None) -> datetime | None:
    """Datetimes in UTC: connectors may hand over naive values or plain dates."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@lru_cache(maxsize=4096)
def environment_slug(value: str) -> str:
    return slugify(value or "")[:40]


def _normalize_credentials(creds: list[CredentialRecord]) -> list[CredentialRecord]:
    # Keyed like the unique constraint; the last report of a duplicate wins.
    unique: dict[tuple[str, str], CredentialRecord] = {}
    for cred in creds:
        for name in ("created_at_source", "last_used_at", "expires_at"):
            setattr(cred, name, aware(getattr(cred, name)))
        cred.attributes = jsonable(cred.attributes) if cred.attributes else {}
        unique[(cred.kind, cred.external_id)] = cred
    return [unique[key] for key in sorted(unique)]


def normalize(record: IdentityRecord) -> IdentityRecord:
    """Make a record canonical (UTC datetimes, slugged environment, sorted credentials)
    so the same facts always hash the same, whatever order the source lists them in."""
    for name in ("created_at_source", "last_used_at", "last_rotated_at", "expires_at"):
        setattr(record, name, aware(getattr(record, name)))
    record.environment = environment_slug(record.environment)
    record.tags = sorted({str(t).strip() for t in record.tags or [] if str(t).strip()})
    record.owner_hints = {
        str(k): str(v).strip() for k, v in (record.owner_hints or {}).items()
        if v is not None and str(v).strip()
    }
    # JSON-safe now, so what is hashed is exactly what the JSON column will hold.
    record.attributes = jsonable(record.attributes) if record.attributes else {}
    record.credentials = _normalize_credentials(record.credentials or [])
    return record


_IDENTITY_FIELDS = [f.name for f in fields(IdentityRecord) if f.name != "credentials"]
_CREDENTIAL_FIELDS = [f.name for f in fields(CredentialRecord)]


def _json_default(value) -> str:
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


# What json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_json_default)
# builds on every call, built once: the same output (so the same hashes), less per-record work.
_HASH_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_json_default)


def record_hash(record: IdentityRecord) -> str:
    """SHA-256 over the canonical JSON of everything the source said (credentials
    included): equal hashes mean there is nothing to write. Fields go in by position
    (plain lists, no dataclasses.asdict deep copy): this runs once per record."""
    payload = [HASH_VERSION, [getattr(record, name) for name in _IDENTITY_FIELDS],
               [[getattr(c, name) for name in _CREDENTIAL_FIELDS] for c in record.credentials]]
    return hashlib.sha256(_HASH_ENCODER.encode(payload).encode()).hexdigest()


@lru_cache(maxsize=65536)  # a run sees the same few owner addresses again and again
def _email(value: str) -> str:
    value = (value or "").strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        return ""
    return value


class Resolver:
    """Per-run caches from slugs, emails and team names to ids, filled one query per
    batch for values not seen before, so lookups never cost a query per record."""

    def __init__(self) -> None:
        self.environments: dict[str, int] = {}
        self.people: dict[str, int | None] = {}
        self.teams: dict[str, int | None] = {}

    def prime(self, records: list[IdentityRecord]) -> None:
        slugs, emails, teams = set(), set(), set()
        for record in records:
            hints = record.owner_hints
            slugs.update(s for s in (record.environment, environment_slug(
                hints.get("environment", ""))) if s)
            emails.update(e for key in ("technical_owner", "owner", "business_owner",
                                         "backup_owner") if (e := _email(hints.get(key, ""))))
            if hints.get("team"):
                teams.add(hints["team"].lower())
        self._load_environments(slugs - self.environments.keys())
        self._load_people(emails - self.people.keys())
        self._load_teams(teams - self.teams.keys())

    def _load_environments(self, slugs: set[str]) -> None:
        if not slugs:
            return
        # ignore_conflicts: another process may create the same slug at the same moment.
        Environment.objects.bulk_create(
            [Environment(slug=s, name=s.replace("-", " ").title(),
                         is_production=s in PRODUCTION_SLUGS) for s in sorted(slugs)],
            ignore_conflicts=True,
        )
        self.environments.update(
            Environment.objects.filter(slug__in=slugs).values_list("slug", "id")
        )

    def _load_people(self, emails: set[str]) -> None:
        if not emails:
            return
        self.people.update(dict.fromkeys(emails))
        # Only people still here: a hint must not hand an identity to someone who left.
        found = (Person.objects.annotate(lemail=Lower("email"))
                 .filter(lemail__in=emails, is_active=True).values_list("lemail", "id"))
        self.people.update(found)

    def _load_teams(self, values: set[str]) -> None:
        if not values:
            return
        self.teams.update(dict.fromkeys(values))
        rows = (Team.objects.annotate(lslug=Lower("slug"), lname=Lower("name"))
                .filter(Q(lslug__in=values) | Q(lname__in=values))
                .values_list("lslug", "lname", "id"))
        for lslug, lname, pk in rows:
            for key in (lslug, lname):
                if key in values:
                    self.teams[key] = pk

    def environment_id(self, slug: str) -> int | None:
        return self.environments.get(slug) if slug else None

    def hint_values(self, record: IdentityRecord) -> dict[str, object]:
        """attname -> value for each people-owned field a hint can fill."""
        hints, values = record.owner_hints, {}
        for attname, keys in PERSON_HINTS.items():
            email = next((_email(hints[k]) for k in keys if hints.get(k)), "")
            if email and self.people.get(email):
                values[attname] = self.people[email]
        if hints.get("team") and self.teams.get(hints["team"].lower()):
            values["team_id"] = self.teams[hints["team"].lower()]
        zone = hints.get("zone", "").lower()
        if zone in ZONES:
            values["zone"] = zone
        for name, limit in TEXT_HINTS.items():
            if hints.get(name):
                values[name] = hints[name][:limit]
        env = self.environment_id(environment_slug(hints.get("environment", "")))
        if env:
            values["environment_id"] = env
        return values


def is_empty(value) -> bool:
    return value is None or value == ""


PRESENT = (IdentityStatus.ACTIVE, IdentityStatus.DISABLED)
