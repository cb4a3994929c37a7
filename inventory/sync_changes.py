"""A sync run's change log: which identities it created, updated, marked missing or brought
back (`SyncChange` rows), written in the same transaction as the changes themselves, with
one COPY per batch on PostgreSQL. Unchanged identities get no row, so a re-sync of an
unchanged source writes nothing here either.
"""

from __future__ import annotations

from collections.abc import Iterable

from inventory.models import ChangeKind, SyncChange
from inventory.sync_sql import insert_tuples

COLUMNS = ["run_id", "identity_id", "kind", "fields"]
# Attribute written for a changed credential list, next to the identity's own fields.
CREDENTIALS = "credentials"


class ChangeLog:
    """The rows one batch (or one missing-marking chunk) adds, flushed in one statement."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.rows: list[tuple] = []

    def add(self, kind: ChangeKind, ids: Iterable[int]) -> None:
        run_id, kind = self.run_id, str(kind)
        self.rows.extend((run_id, pk, kind, []) for pk in ids)

    def add_updates(self, fields_by_id: dict[int, list[str]]) -> None:
        kind = str(ChangeKind.UPDATED)
        self.rows.extend((self.run_id, pk, kind, sorted(names))
                         for pk, names in fields_by_id.items())

    def flush(self) -> None:
        insert_tuples(SyncChange, COLUMNS, self.rows)
        self.rows = []


def changed_fields(before: dict, after: dict) -> list[str]:
    """Names whose value differs between the stored row and what the source reports now
    (both keyed by the same field names; `before` may carry extra keys such as "id")."""
    return [name for name, value in after.items() if before.get(name) != value]
