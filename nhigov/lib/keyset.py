"""Keyset pagination for very large tables: each page is one indexed range scan.

Pages are ordered by (sort column, id) with NULLs always last; a cursor carries the
boundary row's (value, id). No page ever runs a full COUNT(*); see `bounded_count`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model, Q, QuerySet


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None


def _encode(value, pk: int) -> str:
    raw = json.dumps([value.isoformat() if hasattr(value, "isoformat") else value, pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, model: type[Model], field: str):
    """Return (value, pk) from a cursor, or None when it is malformed (then: first page)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if isinstance(value, str) and "\x00" in value:
            return None  # no stored value holds NUL; PostgreSQL would refuse the query
        value = None if value is None else model._meta.get_field(field).to_python(value)
        return value, int(pk)
    except (ValueError, TypeError, KeyError, ValidationError):
        return None


def _past(field: str, value, pk: int, backwards: bool) -> Q:
    """Rows past (value, pk) in the order (field, id), reading `backwards` or forwards.

    Written as `field >= v AND (field > v OR id > pk)` rather than a bare OR, so the
    planner turns the first half into an index range and starts the scan right there.
    """
    op = "lt" if backwards else "gt"
    return Q(**{f"{field}__{op}e": value}) & (
        Q(**{f"{field}__{op}": value}) | Q(**{f"id__{op}": pk})
    )


def _segments(qs: QuerySet, field: str, desc: bool, reverse: bool, cursor, nullable: bool):
    """The queries that make up one page, in reading order.

    Page order is (field, id) with NULLs last. The non-NULL rows and the NULL rows are read
    by separate queries, each one ordered index scan, because one query with an
    `OR field IS NULL` branch makes PostgreSQL sort the whole match instead."""
    backwards = desc != reverse
    order = [f"-{field}", "-id"] if backwards else [field, "id"]
    id_order = ["-id"] if backwards else ["id"]
    values = qs.filter(**{f"{field}__isnull": False}) if nullable else qs
    nulls = qs.filter(**{f"{field}__isnull": True})
    id_op = "id__lt" if backwards else "id__gt"
    if cursor is None:  # the first page (paginate never reads backwards without a cursor)
        return [values.order_by(*order)] + ([nulls.order_by(*id_order)] if nullable else [])
    value, pk = cursor
    if value is None:  # the cursor sits among the NULL rows
        null_part = nulls.filter(**{id_op: pk}).order_by(*id_order)
        return [null_part, values.order_by(*order)] if reverse else [null_part]
    value_part = values.filter(_past(field, value, pk, backwards)).order_by(*order)
    if reverse or not nullable:
        return [value_part]
    return [value_part, nulls.order_by(*id_order)]


def paginate(
    queryset: QuerySet, sort: str, size: int, after: str = "", before: str = ""
) -> Page:
    """One page of `queryset` ordered by `sort` ("name" or "-name"), then id."""
    desc, field = sort.startswith("-"), sort.lstrip("-")
    model = queryset.model
    reverse = bool(before) and not after
    cursor = _decode(before if reverse else after, model, field) if (after or before) else None
    if cursor is None:
        reverse = False  # a missing or malformed cursor means the first page
    nullable = model._meta.get_field(field).null
    rows: list = []
    for part in _segments(queryset, field, desc, reverse, cursor, nullable):
        rows += list(part[: size + 1 - len(rows)])
        if len(rows) > size:
            break
    more = len(rows) > size
    rows = rows[:size]
    if reverse:
        rows.reverse()
    has_next = more if not reverse else True
    has_prev = (cursor is not None) if not reverse else more
    first, last = (rows[0], rows[-1]) if rows else (None, None)
    return Page(
        rows=rows,
        next_cursor=_encode(getattr(last, field), last.pk) if has_next and last else None,
        prev_cursor=_encode(getattr(first, field), first.pk) if has_prev and first else None,
    )


def bounded_count(queryset: QuerySet, cap: int, filtered: bool) -> tuple[int, bool]:
    """(count, is_exact). Counts at most `cap`+1 rows; the unfiltered PostgreSQL table
    uses the planner's estimate, which costs nothing at a million rows."""
    if not filtered and connection.vendor == "postgresql":
        table = queryset.model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            row = cursor.fetchone()
        if row and row[0] > cap:
            return int(row[0]), False
    count = queryset.order_by()[: cap + 1].count()
    return (cap, False) if count > cap else (count, True)
