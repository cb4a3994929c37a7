"""Manual import of identities from a CSV or JSON file into a `file` source.

Used by the import page, the API (POST /api/v1/imports/) and `manage.py import_identities`.

Decisions:

* **All or nothing.** Every row is validated and every problem collected (line, field,
  message). With any error nothing at all is written, not even the source. A valid file
  is written in one transaction under the source's sync lock; if the write fails it is
  rolled back and a failed run is recorded.
* **Through sync.** Valid rows become IdentityRecords and go through
  `sync_records(complete=False)`: an import adds and updates identities of its source,
  never marks any missing, and re-importing the same file writes nothing (data hashes).
* **People-owned columns** (owners, team, purpose, zone, workload, change ticket) go in
  as owner hints: they fill empty fields and never overwrite edits made in the portal.
* **Unknown owner emails create the person** (name derived from the address): files are
  how a register is first loaded, and requiring every owner to exist first would make
  that impractical. Created people are listed in the result and audited, so a typo is
  visible and can be fixed. **Unknown teams are errors**: teams are a short curated
  list, and a typo would otherwise split one.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from inventory.choices import SourceKind, SyncStatus
from inventory.connectors.base import IdentityRecord
from inventory.import_formats import RawRow, RowError, decode, detect_format, read_csv, read_json
from inventory.import_rows import COLUMNS, CSV_COLUMNS, JSON_FIELDS, REQUIRED, parse_row
from inventory.models import Source, SyncRun
from inventory.sync import SyncInProgress, source_lock, sync_records
from nhigov.lib.audit import Actor, Change
from nhigov.lib.audit import record as audit
from nhigov.lib.audit import record_many as audit_many
from ownership.models import Person, Team

logger = logging.getLogger(__name__)

__all__ = ["COLUMNS", "ImportResult", "RowError", "example_csv", "import_file", "max_bytes",
           "parse_file", "read_limited"]


def max_bytes() -> int:
    """Largest accepted file (setting IMPORT_MAX_BYTES, default 20 MB)."""
    return int(getattr(settings, "IMPORT_MAX_BYTES", 20 * 1024 * 1024))


def read_limited(stream: IO[bytes], limit: int | None = None) -> bytes:
    """Read at most one byte past the limit, so an oversized upload is never loaded whole."""
    limit = max_bytes() if limit is None else limit
    return stream.read(limit + 1)


@dataclass
class ParsedFile:
    """A validated file: its records, or the errors that stop the import."""

    format: str = ""
    rows: int = 0
    records: list[IdentityRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    owner_emails: set[str] = field(default_factory=set)


@dataclass
class ImportResult:
    """The outcome of an import: counts from the sync run, or every error found."""

    file_name: str
    sha256: str
    format: str = ""
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    source: Source | None = None
    run: SyncRun | None = None
    people_created: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.run is not None

    def summary(self) -> dict:
        run = self.run
        return {
            "file_name": self.file_name, "sha256": self.sha256, "format": self.format,
            "rows": self.rows, "source": self.source.name if self.source else None,
            "source_code": str(self.source.code) if self.source else None,
            "run": str(run.code) if run else None, "status": run.status if run else None,
            "created": run.created if run else 0, "updated": run.updated if run else 0,
            "unchanged": run.unchanged if run else 0, "people_created": self.people_created,
        }


def _read_rows(data: bytes, file_name: str, fmt: str | None) -> tuple[str, list[RawRow],
                                                                       list[RowError]]:
    if len(data) > max_bytes():
        limit = max_bytes() / 1024 / 1024
        return "", [], [RowError(None, "", f"The file is larger than {limit:g} MB.")]
    if not data.strip():
        return "", [], [RowError(None, "", "The file is empty.")]
    text, errors = decode(data)
    if errors:
        return "", [], errors
    fmt = fmt or detect_format(file_name, text)
    if fmt == "json":
        rows, errors = read_json(text, JSON_FIELDS)
    else:
        rows, errors = read_csv(text, CSV_COLUMNS, REQUIRED)
    if not rows and not errors:
        errors = [RowError(None, "", "The file contains no identities.")]
    return fmt, rows, errors


def parse_file(data: bytes, file_name: str = "", fmt: str | None = None) -> ParsedFile:
    """Validate a whole file; writes nothing."""
    fmt, rows, errors = _read_rows(data, file_name, fmt)
    parsed = ParsedFile(format=fmt, rows=len(rows), errors=errors)
    first_line: dict[str, RawRow] = {}
    for row in rows:
        if row.malformed:
            continue
        record = parse_row(row)
        _check_duplicate(row, record, first_line)
        parsed.records.append(record)
        parsed.owner_emails.update(v for k, v in record.owner_hints.items() if "owner" in k)
    _check_teams([row for row in rows if not row.malformed], parsed.records)
    parsed.errors += [error for row in rows for error in row.errors]
    parsed.errors.sort(key=lambda e: e.line or 0)  # stable: reads top to bottom
    return parsed


def _check_duplicate(row: RawRow, record: IdentityRecord, first: dict[str, RawRow]) -> None:
    if row.errors and not row.values.get("external_id"):
        return  # a derived id from invalid values would only report noise
    earlier = first.setdefault(record.external_id, row)
    if earlier is not row:
        field_name = "external_id" if row.values.get("external_id") else "name"
        row.error(field_name, f"Same identity ({record.external_id!r}) as "
                              f"{RowError(earlier.line, '', '', earlier.item).where}.")


def _check_teams(rows: list[RawRow], records: list[IdentityRecord]) -> None:
    wanted = {r.owner_hints["team"].lower() for r in records if r.owner_hints.get("team")}
    if not wanted:
        return
    known = set()
    for slug, name in (Team.objects.annotate(ls=Lower("slug"), ln=Lower("name"))
                       .filter(Q(ls__in=wanted) | Q(ln__in=wanted)).values_list("ls", "ln")):
        known.update((slug, name))
    for row, record in zip(rows, records, strict=True):
        team = record.owner_hints.get("team", "")
        if team and team.lower() not in known:
            row.error("team", f"Unknown team {team!r}; use an existing team's slug or name.")


def _file_source(name: str, actor: Actor) -> tuple[Source | None, RowError | None]:
    name = (name or "").strip()
    if not name or len(name) > 100:
        return None, RowError(None, "source", "Give the source a name (at most 100 characters).")
    source = Source.objects.filter(name__iexact=name).first()
    if source and source.kind != SourceKind.FILE:
        return None, RowError(None, "source", f"{source.name!r} is a {source.get_kind_display()} "
                                              "source; imports go to file sources. Choose "
                                              "another name.")
    if source is None:
        with transaction.atomic():
            source = Source.objects.create(name=name, kind=SourceKind.FILE)
            audit(actor, Change("source.create", "source", source.code, source.name, {},
                                 {"name": source.name, "kind": source.kind}))
    return source, None


def _name_from_email(email: str) -> str:
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in local.replace("_", ".").replace("-", ".")
                    .split(".") if part) or email


def _create_people(emails: set[str], actor: Actor, file_name: str) -> list[str]:
    if not emails:
        return []
    existing = set(Person.objects.annotate(le=Lower("email")).filter(le__in=emails)
                   .values_list("le", flat=True))
    people = [Person(email=e, name=_name_from_email(e)) for e in sorted(emails - existing)]
    Person.objects.bulk_create(people, ignore_conflicts=True)
    audit_many(actor, (Change("person.create", "person", p.code, p.name, {},
                               {"email": p.email, "name": p.name}) for p in people),
                f"Owner named in imported file {file_name}")
    return [p.email for p in people]


class _WriteFailed(Exception):
    """Raised inside the import transaction to roll it back."""


def import_file(data: bytes, *, file_name: str, source_name: str, actor: Actor,
                fmt: str | None = None) -> ImportResult:
    """Validate `data` and, only if every row is valid, write it to the named file
    source. Returns the result with counts, or with every error and nothing written."""
    result = ImportResult(file_name=file_name, sha256=hashlib.sha256(data).hexdigest())
    parsed = parse_file(data, file_name, fmt)
    result.format, result.rows, result.errors = parsed.format, parsed.rows, parsed.errors
    if not (source_name or "").strip():
        result.errors.append(RowError(None, "source", "Give the source a name."))
    if result.errors:
        return result
    result.source, problem = _file_source(source_name, actor)
    if problem:
        result.errors.append(problem)
        return result
    _write(result, parsed, actor)
    return result


def _write(result: ImportResult, parsed: ParsedFile, actor: Actor) -> None:
    source = result.source
    try:
        with source_lock(source), transaction.atomic():
            result.people_created = _create_people(parsed.owner_emails, actor, result.file_name)
            run = sync_records(source, parsed.records, complete=False,
                               triggered_by=f"import by {actor.label}: {result.file_name}")
            if run.status != SyncStatus.SUCCEEDED:
                raise _WriteFailed(run.error)
            result.run = run
            _audit_import(result, actor, run.status)
    except SyncInProgress:
        result.errors.append(RowError(None, "source", "Another import or sync of this source "
                                                      "is running; try again shortly."))
    except _WriteFailed as exc:
        result.people_created = []
        result.run = _record_failure(result, actor, str(exc))
        result.errors.append(RowError(None, "", f"Writing failed and was rolled back; nothing "
                                                f"was imported. {exc}"))


def _audit_import(result: ImportResult, actor: Actor, status: str) -> None:
    summary = result.summary()
    summary["status"] = status
    audit(actor, Change("import", "source", result.source.code, result.source.name, {},
                         {k: v for k, v in summary.items() if k != "source_code"}))


def _record_failure(result: ImportResult, actor: Actor, error: str) -> SyncRun:
    # After the rollback, so the failure stays visible with the source's runs.
    now = timezone.now()
    with transaction.atomic():
        run = SyncRun.objects.create(
            source=result.source, status=SyncStatus.FAILED, finished_at=now,
            error=f"Import of {result.file_name} rolled back: {error}"[:4000],
            triggered_by=f"import by {actor.label}: {result.file_name}"[:200])
        result.run = run
        _audit_import(result, actor, SyncStatus.FAILED)
    logger.error("Import of %s into %s failed: %s", result.file_name, result.source, error)
    return run


def example_csv() -> str:
    """A small CSV showing every column, offered for download on the import page."""
    header = list(COLUMNS)
    rows = [
        {"name": "svc-billing-export", "kind": "iam_user", "provider": "aws",
         "external_id": "arn:aws:iam::123456789012:user/svc-billing-export",
         "path": "/service/", "environment": "production", "privilege": "read",
         "auth_method": "static_secret", "last_used_at": "2025-01-31T09:30:00Z",
         "last_rotated_at": "2024-11-02", "tags": "billing;export",
         "technical_owner": "jane.doe@example.com", "purpose": "Nightly billing export",
         "zone": "storage", "workload": "billing-export", "change_ticket": "CHG-1042"},
        {"name": "deploy-bot", "kind": "api_key", "provider": "github",
         "environment": "staging", "privilege": "write", "auth_method": "static_secret",
         "expires_at": "2025-12-31", "interactive_login": "false",
         "business_owner": "sam.lee@example.com", "zone": "compute"},
    ]
    lines = [",".join(header)]
    lines += [",".join(_csv_cell(row.get(name, "")) for name in header) for row in rows]
    return "\n".join(lines) + "\n"


def _csv_cell(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ',"\n') else value
