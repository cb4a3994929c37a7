"""A small SQL builder for the rules: named parameters and the few expressions that
differ between PostgreSQL and SQLite (JSON access, date arithmetic).

Rules are boolean SQL expressions over the columns of the facts query (alias `f`, see
`inventory.risk.facts`). Every value that comes from the policy or the clock is bound as
a parameter (`b.p(value)`); only integers and names from code are written inline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone


def like_glob(pattern: str) -> str:
    """A shell glob (* and ?) as a LIKE pattern, with LIKE's own wildcards escaped."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_").lower()


class Builder:
    """Collects parameters for one statement and writes dialect-specific expressions."""

    def __init__(self, now: dt.datetime | None = None, vendor: str | None = None):
        self.now = now or timezone.now()
        self.vendor = vendor or connection.vendor
        self.params: dict[str, object] = {}

    @property
    def pg(self) -> bool:
        return self.vendor == "postgresql"

    # --- parameters -----------------------------------------------------------------------

    def p(self, value) -> str:
        """Bind `value`; returns its placeholder."""
        name = f"p{len(self.params)}"
        if isinstance(value, dt.datetime):
            value = connection.ops.adapt_datetimefield_value(value)
        elif isinstance(value, dt.date):
            value = connection.ops.adapt_datefield_value(value)
        self.params[name] = value
        return f"%({name})s"

    def ago(self, days: float) -> str:
        """The moment `days` before now, as a parameter."""
        return self.p(self.now - dt.timedelta(days=days))

    def ahead(self, days: float) -> str:
        return self.p(self.now + dt.timedelta(days=days))

    def in_list(self, column: str, values: Iterable[str]) -> str:
        values = list(values)
        if not values:
            return "1 = 0"
        return f"{column} IN ({', '.join(self.p(v) for v in values)})"

    def like_any(self, text: str, globs: Iterable[str], anywhere: bool = False,
                 lowered: bool = False) -> str:
        """`text` matches any of the globs, in any case (as substrings when `anywhere`).
        `lowered`: the text is lower-case already (saves a LOWER per pattern)."""
        globs = list(globs)
        if not globs:
            return "1 = 0"
        subject = text if lowered else f"LOWER({text})"
        parts = []
        for glob in globs:
            pattern = like_glob(glob)
            if anywhere:
                pattern = f"%{pattern}%"
            parts.append(f"{subject} LIKE {self.p(pattern)} ESCAPE '\\'")
        return "(" + " OR ".join(parts) + ")"

    # --- dialect --------------------------------------------------------------------------

    def jtext(self, column: str, *path: str) -> str:
        """The JSON value at `path` as text (scalars bare, arrays/objects as JSON)."""
        if self.pg:
            return f"({column} #>> '{{{','.join(path)}}}')"
        return f"json_extract({column}, '$.{'.'.join(path)}')"

    def jflag(self, column: str, *path: str, value: bool = True) -> str:
        """The JSON value at `path` is the boolean `value`."""
        word = "true" if value else "false"
        if self.pg:  # jsonb equality: the string "true" is not the boolean true
            return f"(({column} #> '{{{','.join(path)}}}') = '{word}'::jsonb)"
        return f"(json_type({column}, '$.{'.'.join(path)}') = '{word}')"

    def jnum(self, column: str, *path: str) -> str:
        """The JSON number at `path`, NULL when absent or not a number."""
        if self.pg:
            p = ",".join(path)
            return f"(CASE WHEN jsonb_typeof({column} #> '{{{p}}}') = 'number' " \
                   f"THEN ({column} #>> '{{{p}}}')::numeric END)"
        p = ".".join(path)
        return f"(CASE WHEN json_type({column}, '$.{p}') IN ('integer', 'real') " \
               f"THEN json_extract({column}, '$.{p}') END)"

    def jlen(self, column: str, *path: str) -> str:
        """Length of the JSON array at `path`; 0 when absent or not an array."""
        if self.pg:
            p = ",".join(path)
            return f"(CASE WHEN jsonb_typeof({column} #> '{{{p}}}') = 'array' " \
                   f"THEN jsonb_array_length({column} #> '{{{p}}}') ELSE 0 END)"
        p = ".".join(path)
        return f"(CASE WHEN json_type({column}, '$.{p}') = 'array' " \
               f"THEN json_array_length({column}, '$.{p}') ELSE 0 END)"

    def json_all(self, column: str) -> str:
        """The whole JSON column as text."""
        return f"({column})::text" if self.pg else f"({column})"

    def days_between(self, start: str, end: str) -> str:
        """Days from `start` to `end` (fractional)."""
        if self.pg:
            return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 86400.0)"
        return f"(julianday({end}) - julianday({start}))"

    def minus_days(self, column: str, days: int) -> str:
        """`column` moved `days` earlier (days written inline: it is an integer)."""
        days = int(days)
        if self.pg:
            return f"({column} - make_interval(days => {days}))"
        return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {column}, '-{days} days')"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.pg else f"MIN({a}, {b})"

    def bigint(self, value: int) -> str:
        return f"CAST({int(value)} AS BIGINT)"
