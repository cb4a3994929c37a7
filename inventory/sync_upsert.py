"""One batch of the sync upsert, set-based: a fixed number of queries per batch however
many records it holds (load, diff, insert, update, fill, refresh, credentials, audit,
change log).

Rows whose data hash and status are unchanged are not written. People-owned fields are
never part of the bulk update; hints reach them through one conditional UPDATE whose
"still empty" test runs inside the database, so an edit made in the portal while the
batch runs is never overwritten.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from inventory.choices import CredentialStatus, IdentityStatus
from inventory.connectors.base import CredentialRecord, IdentityRecord
from inventory.models import ChangeKind, Credential, Identity, Source, SyncRun
from inventory.sync_changes import CREDENTIALS, ChangeLog, changed_fields
from inventory.sync_helpers import PRESENT, Resolver, is_empty, normalize, record_hash
from inventory.sync_sql import insert_rows, update_rows
from nhigov.lib.audit import Actor, Change, record_many

# What the source reports; written whenever the hash or the status changes.
DISCOVERED = [
    "provider", "kind", "name", "path", "privilege", "permissions_summary",
    "interactive_login", "auth_method", "created_at_source", "last_used_at",
    "last_rotated_at", "expires_at", "status", "tags", "attributes", "owner_hints",
]
WRITE_FIELDS = [*DISCOVERED, "data_hash", "last_seen_at", "missing_since", "updated_at"]
LOAD_COLUMNS = [
    "id", "code", "name", "external_id", "data_hash", "status", "last_seen_at",
    "missing_since", "environment_id", "technical_owner_id", "business_owner_id",
    "backup_owner_id", "team_id", "purpose", "zone", "workload", "change_ticket",
]
CREDENTIAL_FIELDS = [
    "fingerprint", "created_at_source", "last_used_at", "expires_at", "status",
    "key_algorithm", "key_size", "attributes",
]


@dataclass
class RunState:
    """What a run carries from batch to batch: ids seen, caches, and the run's counts."""

    source: Source
    run: SyncRun
    actor: Actor
    refresh_after: timedelta | None
    resolver: Resolver = field(default_factory=Resolver)
    seen_ids: set[int] = field(default_factory=set)
    # Existing rows seen that were active/disabled before the run: the held-run base.
    known_present: int = 0
    # Seen rows whose last_seen_at predates the run (not refreshed): stamped only if the
    # run is held, so a later confirmation can tell seen from unseen rows.
    unstamped: list[int] = field(default_factory=list)
    # Created-row count at which the tables are next ANALYZEd (see sync._analyze).
    next_analyze: int = 10_000


@dataclass
class _Plan:
    new: list[dict] = field(default_factory=list)
    new_records: list[IdentityRecord] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    changed_creds: list[tuple[int, IdentityRecord]] = field(default_factory=list)
    fills: list[tuple[int, str, object, bool]] = field(default_factory=list)
    refresh: list[int] = field(default_factory=list)
    returned: list[Change] = field(default_factory=list)
    returned_ids: list[int] = field(default_factory=list)
    # pk -> names of the fields that changed, for the run's change log ("updated" rows).
    updated: dict[int, list[str]] = field(default_factory=dict)


def upsert_batch(state: RunState, records: list[IdentityRecord]) -> None:
    """Upsert one batch of records into the register, in one transaction."""
    now = timezone.now()
    batch = {r.external_id: r for r in map(normalize, records)}  # last duplicate wins
    state.resolver.prime(list(batch.values()))
    existing = Identity.objects.filter(source=state.source, external_id__in=list(batch))
    rows = {row["external_id"]: row for row in existing.values(*LOAD_COLUMNS)}
    plan = _Plan()
    for external_id, record in batch.items():
        row = rows.get(external_id)
        if row is None:
            plan.new.append(_new_row(state, record, now))
            plan.new_records.append(record)
        elif row["id"] not in state.seen_ids:  # repeated across batches: counted once
            _plan_existing(state, plan, row, record, now)
    _diff_changed(plan)
    with transaction.atomic():
        _write(state, plan, now)


def _discovered(record: IdentityRecord) -> dict:
    return {name: getattr(record, name) for name in DISCOVERED}


def _new_row(state: RunState, record: IdentityRecord, now: datetime) -> dict:
    row = {"source_id": state.source.pk, "external_id": record.external_id,
           "data_hash": record_hash(record), "last_seen_at": now, **_discovered(record)}
    # A new row has nothing people set yet: every usable hint fills its field.
    row.update(state.resolver.hint_values(record))
    if record.environment:
        row["environment_id"] = state.resolver.environment_id(record.environment)
    state.run.seen += 1
    state.run.created += 1
    return row


def _plan_existing(state: RunState, plan: _Plan, row: dict, record: IdentityRecord,
                   now: datetime) -> None:
    run = state.run
    state.seen_ids.add(row["id"])
    run.seen += 1
    state.known_present += row["status"] in PRESENT
    digest = record_hash(record)
    changed = row["data_hash"] != digest
    if not changed and row["status"] == record.status:
        run.unchanged += 1
        _plan_unchanged(state, plan, row, now)
        return
    returning = row["status"] == IdentityStatus.MISSING
    if returning:
        run.returned += 1
        plan.returned_ids.append(row["id"])
        plan.returned.append(Change(
            "identity.returned", "identity", row["code"], row["name"],
            {"status": row["status"], "missing_since": row["missing_since"]},
            {"status": record.status}))
    if changed:
        plan.updated[row["id"]] = []  # the changed fields are found per batch (_diff_changed)
    elif not returning:
        # Same data, but the register holds another status (set in the portal, say): the
        # source's status is written, which makes this an update like any other.
        plan.updated[row["id"]] = ["status"]
    run.updated += row["id"] in plan.updated
    run.unchanged += row["id"] not in plan.updated
    plan.fills.extend(_fills(state, row, record))
    plan.changed.append({"id": row["id"], **_discovered(record), "data_hash": digest,
                         "last_seen_at": now, "missing_since": None, "updated_at": now})
    if changed:
        plan.changed_creds.append((row["id"], record))


def _diff_changed(plan: _Plan) -> None:
    """Name the discovered fields that changed on each row whose hash changed: one query
    per batch, for those rows only (an unchanged re-sync never runs it)."""
    if not plan.changed_creds:
        return
    records = dict(plan.changed_creds)
    for before in Identity.objects.filter(pk__in=list(records)).values("id", *DISCOVERED):
        pk = before["id"]
        plan.updated[pk] = changed_fields(before, _discovered(records[pk]))


def _plan_unchanged(state: RunState, plan: _Plan, row: dict, now: datetime) -> None:
    last = row["last_seen_at"]
    if last is None or (state.refresh_after is not None and now - last >= state.refresh_after):
        plan.refresh.append(row["id"])
    elif last < state.run.started_at:
        state.unstamped.append(row["id"])


def _fills(state: RunState, row: dict, record: IdentityRecord) -> list:
    """(pk, attname, value, only_if_empty) for people-owned fields hints may fill, and
    the source's own environment, which it may set."""
    fills = []
    for attname, value in state.resolver.hint_values(record).items():
        if attname == "environment_id" and record.environment:
            continue  # the source names the environment itself; that wins over a hint
        if is_empty(row[attname]):
            fills.append((row["id"], attname, value, True))
    env_id = state.resolver.environment_id(record.environment)
    if env_id and env_id != row["environment_id"]:
        fills.append((row["id"], "environment_id", env_id, False))
    return fills


def _write(state: RunState, plan: _Plan, now: datetime) -> None:
    new_ids = insert_rows(Identity, plan.new, now)
    state.seen_ids.update(new_ids)
    update_rows(Identity, plan.changed, WRITE_FIELDS)
    if plan.fills:
        _apply_fills(plan.fills, now)
    if plan.refresh:
        # last_seen_at only; updated_at keeps meaning "data changed".
        Identity.objects.filter(pk__in=plan.refresh).update(last_seen_at=now)
    creds_changed = sync_credentials(
        list(zip(new_ids, plan.new_records, strict=True)), plan.changed_creds, now)
    if plan.returned:
        record_many(state.actor, plan.returned)
    _log_changes(state, plan, new_ids, creds_changed)


def _log_changes(state: RunState, plan: _Plan, new_ids: list[int],
                 creds_changed: set[int]) -> None:
    """The batch's rows of the run's change log, in one statement."""
    for pk in creds_changed:
        plan.updated[pk].append(CREDENTIALS)
    for pk, attname, _value, only_if_empty in plan.fills:
        if attname == "environment_id" and not only_if_empty and pk in plan.updated:
            plan.updated[pk].append("environment")  # the source moved it
    log = ChangeLog(state.run.pk)
    log.add(ChangeKind.CREATED, new_ids)
    log.add_updates(plan.updated)
    log.add(ChangeKind.RETURNED, plan.returned_ids)
    log.flush()


def _empty(attname: str) -> Q:
    return Q(**{f"{attname}__isnull": True}) if attname.endswith("_id") else Q(**{attname: ""})


def _apply_fills(fills: list[tuple[int, str, object, bool]], now: datetime) -> None:
    """One UPDATE for every fill of the batch; the emptiness test runs in SQL."""
    by_field = defaultdict(list)
    for pk, attname, value, only_if_empty in fills:
        cond = Q(pk=pk) & _empty(attname) if only_if_empty else Q(pk=pk)
        by_field[attname].append(When(cond, then=Value(value)))
    updates = {}
    for attname, whens in by_field.items():
        model_field = Identity._meta.get_field(attname)
        case = Case(*whens, default=F(attname), output_field=model_field)
        if connection.features.requires_casted_case_in_updates:
            case = Cast(case, output_field=model_field)
        updates[attname] = case
    pks = {pk for pk, *_ in fills}
    Identity.objects.filter(pk__in=pks).update(**updates, updated_at=now)


def _credential_row(identity_id: int, rec: CredentialRecord) -> dict:
    return {"identity_id": identity_id, "kind": rec.kind, "external_id": rec.external_id,
            **{name: getattr(rec, name) for name in CREDENTIAL_FIELDS}}


def sync_credentials(new: list[tuple[int, IdentityRecord]],
                     changed: list[tuple[int, IdentityRecord]], now: datetime) -> set[int]:
    """Upsert credentials by (identity, kind, external_id). A credential the source no
    longer reports for a changed identity is marked revoked (kept, never deleted).
    Returns the ids of the `changed` identities whose credentials changed."""
    to_create = [_credential_row(pk, c) for pk, record in new for c in record.credentials]
    to_update, touched = [], set()
    if changed:
        wanted = {(pk, c.kind, c.external_id): c for pk, r in changed for c in r.credentials}
        stored = Credential.objects.filter(identity_id__in=[pk for pk, _ in changed]).values(
            "id", "identity_id", "kind", "external_id", *CREDENTIAL_FIELDS)
        for cred in stored:
            rec = wanted.pop((cred["identity_id"], cred["kind"], cred["external_id"]), None)
            if _refresh_credential(cred, rec):
                to_update.append({**cred, "updated_at": now})
                touched.add(cred["identity_id"])
        to_create += [_credential_row(key[0], rec) for key, rec in wanted.items()]
        touched.update(key[0] for key in wanted)
    insert_rows(Credential, to_create, now, with_ids=False)
    update_rows(Credential, to_update, [*CREDENTIAL_FIELDS, "updated_at"])
    return touched


def _refresh_credential(cred: dict, rec: CredentialRecord | None) -> bool:
    """Bring a stored credential in line with the source; True when it changed."""
    if rec is None:
        if cred["status"] == CredentialStatus.REVOKED:
            return False
        cred["status"] = CredentialStatus.REVOKED
        return True
    changed = False
    for name in CREDENTIAL_FIELDS:
        if cred[name] != getattr(rec, name):
            cred[name] = getattr(rec, name)
            changed = True
    return changed
