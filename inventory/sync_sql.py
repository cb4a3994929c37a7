"""Set-based writes for the sync: COPY and UPDATE ... FROM UNNEST on PostgreSQL, Django's
bulk_create / bulk_update elsewhere (the embedded SQLite demo).

Rows are plain dicts keyed by attname, so a million-row sync never builds a model
instance for a row it does not write. Columns a row leaves out get the model default,
so a field added to the model later needs no change here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from operator import itemgetter

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Field, JSONField, Model

# Django's bulk_update compiles one CASE per column, which is quadratic in the batch;
# where it is used (not PostgreSQL), it is used in chunks of this size.
UPDATE_CHUNK = 500


def _json(field: JSONField) -> Callable:
    encoder = field.encoder or DjangoJSONEncoder

    def adapt(value):
        if value is None:
            return None
        # Most rows carry empty tags/attributes: skip the encoder for those.
        return ("[]" if isinstance(value, list) else "{}") if not value and isinstance(
            value, list | dict) else json.dumps(value, cls=encoder)

    return adapt


def _adapter(field: Field) -> Callable | None:
    """How a Python value travels to PostgreSQL; None = as it is (str, int, datetime...)."""
    return _json(field) if isinstance(field, JSONField) else None


def _row_maker(fields: list[Field], now: datetime) -> Callable[[dict], tuple]:
    """A function turning a row dict into the tuple COPY writes, with defaults filled.
    Built once per statement: per-row work is a dict merge and an itemgetter."""
    static, per_row, adapters = {}, [], {}
    for f in fields:
        adapt = _adapter(f)
        if adapt:
            adapters[f.attname] = adapt
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            static[f.attname] = now
        elif f.has_default() and callable(f.default) and not adapt:
            per_row.append((f.attname, f.default))  # e.g. uuid4 for `code`
        else:
            default = f.get_default()
            static[f.attname] = adapt(default) if adapt else default
    pick = itemgetter(*(f.attname for f in fields))

    def make(row: dict) -> tuple:
        full = {**static, **row}
        for name, factory in per_row:
            if name not in row:
                full[name] = factory()
        for name, adapt in adapters.items():
            if name in row:
                full[name] = adapt(row[name])
        return pick(full)

    return make


def insert_rows(model: type[Model], rows: list[dict], now: datetime,
                with_ids: bool = True) -> list[int]:
    """Insert `rows`; returns their new primary keys in order (when `with_ids`)."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in created]
    meta, qn = model._meta, connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    make = _row_maker(fields, now)
    with connection.cursor() as cursor:
        ids = []
        if with_ids:
            # Take the ids first, so COPY (which returns nothing) can write them.
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                           "FROM generate_series(1, %s)",
                           [meta.db_table, meta.pk.column, len(rows)])
            ids = [pk for (pk,) in cursor.fetchall()]
        columns = ([meta.pk] if with_ids else []) + fields
        names = ", ".join(qn(f.column) for f in columns)
        with cursor.copy(f"COPY {qn(meta.db_table)} ({names}) FROM STDIN") as copy:
            if with_ids:
                for pk, row in zip(ids, rows, strict=True):
                    copy.write_row((pk, *make(row)))
            else:
                for row in rows:
                    copy.write_row(make(row))
    return ids


def insert_tuples(model: type[Model], attnames: list[str], rows: list[tuple]) -> None:
    """Insert plain tuples of `attnames` values (no defaults filled, no ids returned): the
    cheapest path, for narrow append-only rows such as a run's change log."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(attnames, row, strict=True)))
                                   for row in rows])
        return
    meta, qn = model._meta, connection.ops.quote_name
    by_attname = {f.attname: f for f in meta.concrete_fields}
    columns = [by_attname[name] for name in attnames]
    adapters = [(index, adapt) for index, col in enumerate(columns) if (adapt := _adapter(col))]
    names = ", ".join(qn(col.column) for col in columns)
    with connection.cursor() as cursor, cursor.copy(
            f"COPY {qn(meta.db_table)} ({names}) FROM STDIN") as copy:
        if not adapters:
            for row in rows:
                copy.write_row(row)
            return
        for row in rows:
            values = list(row)
            for index, adapt in adapters:
                values[index] = adapt(values[index])
            copy.write_row(values)


def update_rows(model: type[Model], rows: list[dict], fields: list[str]) -> None:
    """Write `fields` of each row (a dict with "id") by primary key. On PostgreSQL the rows
    are COPYed into a session temp table and applied with one UPDATE ... FROM (a hash
    join, linear in the batch; COPY avoids quoting thousands of literals)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        objs = [model(pk=row["id"], **{name: row[name] for name in fields}) for row in rows]
        model.objects.bulk_update(objs, fields, batch_size=UPDATE_CHUNK)
        return
    meta, qn = model._meta, connection.ops.quote_name
    columns = [meta.pk] + [meta.get_field(name) for name in fields]
    names = ", ".join(qn(col.column) for col in columns)
    # One stage table per (table, column list), kept empty between uses.
    stage = qn(f"sync_stage_{meta.db_table}_{hashlib.sha256(names.encode()).hexdigest()[:8]}")
    adapters = [(index, adapt) for index, col in enumerate(columns) if (adapt := _adapter(col))]
    keys = itemgetter(*("id" if col.primary_key else col.attname for col in columns))
    sets = ", ".join(f"{qn(col.column)} = s.{qn(col.column)}" for col in columns[1:])
    pk = qn(meta.pk.column)
    # Identifiers come from model metadata; values travel through COPY.
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS "  # noqa: S608
                       f"SELECT {names} FROM {qn(meta.db_table)} WITH NO DATA")
        with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                values = list(keys(row))
                for index, adapt in adapters:
                    values[index] = adapt(values[index])
                copy.write_row(values)
        cursor.execute(f"UPDATE {qn(meta.db_table)} AS t SET {sets} "  # noqa: S608
                       f"FROM {stage} AS s WHERE t.{pk} = s.{pk}")
        cursor.execute(f"DELETE FROM {stage}")  # noqa: S608
