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
from django.db.models import F, Model, Q, QuerySet


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


def _after(field: str, value, pk: int, desc: bool) -> Q:
    """Rows strictly after (value, pk) in the page order."""
    if value is None:
        return Q(**{f"{field}__isnull": True}) & Q(**{"id__lt" if desc else "id__gt": pk})
    op = "lt" if desc else "gt"
    return (
        Q(**{f"{field}__{op}": value})
        | Q(**{field: value, f"id__{op}": pk})
        | Q(**{f"{field}__isnull": True})
    )


def _before(field: str, value, pk: int, desc: bool) -> Q:
    """Rows strictly before (value, pk) in the page order."""
    op = "gt" if desc else "lt"
    if value is None:
        return Q(**{f"{field}__isnull": False}) | Q(
            **{f"{field}__isnull": True, f"id__{op}": pk}
        )
    return Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"id__{op}": pk})


def _ordering(field: str, desc: bool, reverse: bool) -> list:
    """NULLs last in page order; reading backwards flips everything, so NULLs come first."""
    backwards = desc != reverse
    nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
    col = F(field).desc(**nulls) if backwards else F(field).asc(**nulls)
    return [col, "-id" if backwards else "id"]


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
    qs = queryset
    if cursor is not None:
        make = _before if reverse else _after
        qs = qs.filter(make(field, cursor[0], cursor[1], desc))
    rows = list(qs.order_by(*_ordering(field, desc, reverse))[: size + 1])
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
