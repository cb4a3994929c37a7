"""Reconcile discovered records into the register: the one place that writes them.

(Being implemented; see the sync contract in DESIGN.md.)
"""

from collections.abc import Iterable

from inventory.connectors.base import IdentityRecord
from inventory.models import Source, SyncRun


def sync_records(
    source: Source, records: Iterable[IdentityRecord], *, complete: bool = True,
    triggered_by: str = "",
) -> SyncRun:
    raise NotImplementedError
