"""CSV export of the register: keyset-chunked, so memory stays flat at any size."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.db.models import QuerySet

COLUMNS = [
    ("code", "code"), ("name", "name"), ("kind", "kind"), ("provider", "provider"),
    ("source", "source__name"), ("external_id", "external_id"), ("path", "path"),
    ("environment", "environment__slug"), ("zone", "zone"), ("status", "status"),
    ("privilege", "privilege"), ("auth_method", "auth_method"),
    ("interactive_login", "interactive_login"),
    ("technical_owner", "technical_owner__email"), ("business_owner", "business_owner__email"),
    ("backup_owner", "backup_owner__email"), ("team", "team__name"), ("purpose", "purpose"),
    ("workload", "workload"), ("change_ticket", "change_ticket"),
    ("created_at_source", "created_at_source"), ("last_used_at", "last_used_at"),
    ("last_rotated_at", "last_rotated_at"), ("expires_at", "expires_at"),
    ("last_attested_at", "last_attested_at"), ("first_seen_at", "first_seen_at"),
    ("tags", "tags"),
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def safe_cell(value) -> str:
    """Render a value for CSV so spreadsheets never run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_rows(queryset: QuerySet, chunk: int = 2000) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _ in COLUMNS])
    fields = ["id"] + [path for _, path in COLUMNS]
    base = queryset.order_by("id").values_list(*fields)
    last_id = 0
    while True:
        rows = list(base.filter(id__gt=last_id)[:chunk])
        if not rows:
            return
        last_id = rows[-1][0]
        for row in rows:
            yield writer.writerow([safe_cell(v) for v in row[1:]])
