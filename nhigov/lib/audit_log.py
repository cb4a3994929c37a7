"""Reading the audit log: the auditor page's filters, its CSV and the chain's status.

Every filter maps to an indexed column or is bounded by the newest-first id scan the
keyset pages read, so a filtered page stays one range scan on a log of millions of rows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from inventory.export import safe_cell
from nhigov.lib.audit import VerifyResult, verify_chain
from nhigov.models import AuditCheckpoint, AuditEvent

# The page checks the chain from the last checkpoint on; it never walks more than this
# many events per view (verify_audit walks the whole chain).
PAGE_VERIFY_LIMIT = 5000


class AuditFilterForm(forms.Form):
    """The audit page's filters; all optional, combined with AND."""

    actor = forms.CharField(required=False, max_length=255, label="Actor")
    action = forms.CharField(required=False, max_length=64, label="Action",
                             help_text="Exact action, or a prefix ending in a dot: identity.")
    object_type = forms.CharField(required=False, max_length=64, label="Object type")
    object_id = forms.CharField(required=False, max_length=64, label="Object id")
    since = forms.DateField(required=False, label="From",
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To",
                            widget=forms.DateInput(attrs={"type": "date"}))
    request_id = forms.CharField(required=False, max_length=64, label="Request id")
    q = forms.CharField(required=False, max_length=200, label="Text")

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The start date is after the end date.")
        if until == date.max:  # the filter reads up to the next day's start: out of range
            self.add_error("until", "Enter an earlier date.")
        return data


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filter_events(data: dict, queryset: QuerySet | None = None) -> QuerySet:
    """Apply a cleaned AuditFilterForm to the log."""
    qs = AuditEvent.objects.all() if queryset is None else queryset
    if data.get("actor"):
        qs = qs.filter(actor__icontains=data["actor"])
    action = data.get("action", "")
    if action:
        qs = qs.filter(action__startswith=action) if action.endswith(".") else qs.filter(
            action=action)
    for name in ("object_type", "object_id", "request_id"):
        if data.get(name):
            qs = qs.filter(**{name: data[name]})
    if data.get("since"):
        qs = qs.filter(at__gte=_day_start(data["since"]))
    if data.get("until"):
        qs = qs.filter(at__lt=_day_start(data["until"] + timedelta(days=1)))
    if data.get("q"):
        text = data["q"]
        qs = qs.filter(Q(object_repr__icontains=text) | Q(reason__icontains=text)
                       | Q(object_id=text) | Q(actor__icontains=text))
    return qs


def filter_query(data: dict) -> dict:
    """The filter as plain strings, for the export's own audit event and links."""
    return {k: str(v) for k, v in data.items() if v not in (None, "")}


CSV_COLUMNS = ["id", "at", "actor_type", "actor", "action", "object_type", "object_id",
               "object_repr", "reason", "before", "after", "request_id", "prev_hash", "hash"]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(queryset: QuerySet, chunk: int = 2000) -> Iterator[str]:
    """The filtered log as CSV, newest first, read in keyset chunks (flat memory).
    The hashes are included so an auditor can re-check the chain in the file."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    base = queryset.order_by("-id").values_list(*CSV_COLUMNS)
    last_id = None
    while True:
        part = base if last_id is None else base.filter(id__lt=last_id)
        rows = list(part[:chunk])
        if not rows:
            return
        last_id = rows[-1][0]
        for row in rows:
            yield writer.writerow([_cell(name, value) for name, value in zip(CSV_COLUMNS, row,
                                                                              strict=True)])


def _cell(name: str, value) -> str:
    if name in ("before", "after"):
        value = json.dumps(value or {}, sort_keys=True, default=str)
    return safe_cell(value)


@dataclass
class ChainStatus:
    """What the audit page says about the chain: the last checkpoint and a fresh check of
    the events since it."""

    checkpoint: AuditCheckpoint | None
    result: VerifyResult
    start_id: int | None
    partial: bool


def chain_status() -> ChainStatus:
    """Verify from the last checkpoint (included, so its signature is checked) to the end,
    at most PAGE_VERIFY_LIMIT events back."""
    checkpoint = AuditCheckpoint.objects.order_by("-last_event_id", "-id").first()
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    floor = max(last_id - PAGE_VERIFY_LIMIT + 1, 1)
    start = checkpoint.last_event_id if checkpoint else 1
    partial = start < floor
    start = max(start, floor)
    return ChainStatus(checkpoint, verify_chain(start_id=start), start, partial)
