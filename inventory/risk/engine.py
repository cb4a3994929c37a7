"""Evaluation: every rule over the whole register (or a set of identities) in a fixed
handful of set-based statements, whatever the number of identities or rules.

1. One pass computes each identity's verdict (rule mask, score, classification, zones;
   `inventory.risk.facts`) and keeps only the identities whose verdict changed, in a
   temporary table `risk_delta`. An unchanged register therefore writes nothing.
2. From `risk_delta`: resolve findings whose condition cleared (or whose identity is no
   longer active), reopen resolved findings whose condition returned, insert findings
   that never existed: three statements.
3. Reopen accepted findings whose acceptance expired: one indexed UPDATE.
4. Store the new verdicts (one upsert) and the changed risk scores (one UPDATE).

Evaluations are serialized by a PostgreSQL advisory lock and run in one transaction.
One audit event summarises each run that changed findings; the findings themselves
carry their timestamps, and analysts' decisions are audited one by one (`actions`).
"""

# SQL is assembled from code-defined fragments; every value from the policy, the clock or
# the database is bound as a parameter (Builder.p), never formatted in.
# ruff: noqa: S608

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from inventory.models.risk import SEVERITY_RANK, RiskRun
from inventory.risk import policy as policies
from inventory.risk.facts import verdict_query
from inventory.risk.registry import Rule, all_rules
from inventory.risk.sql import Builder
from nhigov.lib.audit import Actor, Change, record

logger = logging.getLogger(__name__)

_LOCK = 0x72697363  # "risc": one evaluation at a time
DELTA_COLUMNS = ("identity_id", "status", "old_mask", "mask", "score", "classification",
                 "home_zone", "reach", "last_used_at", "reactivated_at")


@dataclass
class Context:
    """What one evaluation's statements share."""

    b: Builder
    policy: policies.Policy
    rules: list[Rule]
    scoped: bool
    previous: object  # when the previous evaluation started (last seen still holding)


def evaluate_all(trigger: str = "manual", now: datetime | None = None) -> RiskRun:
    """Evaluate every identity of the register. The first full run stores the default
    policy as version 1, so every finding can name the policy it was raised under."""
    policies.ensure_saved()
    return _evaluate(None, trigger, now)


def evaluate_identities(ids: Iterable[int], trigger: str = "",
                        now: datetime | None = None) -> RiskRun:
    """Evaluate these identities (and those sharing a credential fingerprint with them)."""
    ids = sorted({int(i) for i in ids})
    return _evaluate(("ids", ids), trigger, now)


def evaluate_source(source_id: int, trigger: str = "", now: datetime | None = None) -> RiskRun:
    """Evaluate the identities of one source, e.g. after its sync."""
    return _evaluate(("source", int(source_id)), trigger, now)


def _evaluate(scope, trigger: str, now: datetime | None = None) -> RiskRun:
    # `now` is the evaluation's clock; tests move it to cross thresholds.
    now = now or timezone.now()
    policy = policies.current()
    rules = [r for r in all_rules() if r.code not in policy.disabled]
    run = RiskRun(started_at=now, trigger=trigger[:100], full=scope is None,
                  policy_number=policy.number)
    previous = RiskRun.objects.filter(error="").order_by("-started_at").values_list(
        "started_at", flat=True).first() or now
    ctx = Context(Builder(now), policy, rules, scope is not None, previous)
    rewrite = _policy_changed(policy)
    with transaction.atomic():
        _lock()
        _tune()
        _temp_tables(ctx)
        run.scope_size = _fill_scope(ctx, scope) if scope else _count_identities()
        run.changed = _execute(ctx, _delta_sql(ctx, only_changed=not rewrite))
        _tune_for_delta(ctx)
        run.resolved = _execute(ctx, _resolve_sql(ctx))
        run.reopened = _execute(ctx, _reopen_sql(ctx))
        run.opened = _execute(ctx, _insert_sql(ctx))
        run.expired = _execute(ctx, _expire_sql(ctx))
        if rewrite:
            _execute(ctx, _severity_sql(ctx))
        _execute(ctx, _store_sql(ctx))
        run.scored = _execute(ctx, _score_sql(ctx))
        _drop_temp_tables()
        _refresh_statistics(run)
        run.finished_at = max(timezone.now(), now)
        run.save()
        if run.full or run.opened or run.reopened or run.resolved or run.expired:
            _audit(run)
    return run


def _tune() -> None:
    """PostgreSQL, for this transaction: enough memory to hash the register's joins and
    aggregates in memory, and JIT without LLVM inlining and optimization, which take
    longer to compile this one-pass query than they save (measured: bench/risk_bench.py)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.RISK_WORK_MEM])
        cursor.execute("SET LOCAL jit_inline_above_cost = -1")
        cursor.execute("SET LOCAL jit_optimize_above_cost = -1")


def _tune_for_delta(ctx: Context) -> None:
    """PostgreSQL, for the statements that apply `risk_delta`: statistics on the delta, and
    random_page_cost 1.1 (the register is in memory or on SSD). With the default 4 the
    planner hashes the whole findings table for a small delta (1% changed at 1M: resolve
    3.9 s, insert 4.8 s); with 1.1 it probes the (identity, rule) index (0.7 s, 1.2 s) and
    still hashes when the delta is large (measured: bench/risk_bench.py)."""
    if connection.vendor != "postgresql":
        return
    _execute(ctx, "ANALYZE risk_delta")
    _execute(ctx, "SET LOCAL random_page_cost = 1.1")


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])


def _execute(ctx: Context, sql: str, params: dict | None = None) -> int:
    if params is None:
        # Statements without placeholders take no parameters (and no %-escaping).
        params = ctx.b.params if "%(" in sql else None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _temp_tables(ctx: Context) -> None:
    ts = "timestamptz" if ctx.b.pg else "text"
    _drop_temp_tables()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE risk_scope (id bigint PRIMARY KEY)")
        cursor.execute(
            "CREATE TEMP TABLE risk_delta (identity_id bigint PRIMARY KEY, status varchar(16),"
            " old_mask bigint, mask bigint NOT NULL, score integer, classification "
            f"varchar(10), home_zone varchar(12), reach integer, last_used_at {ts}, "
            f"reactivated_at {ts})")


def _drop_temp_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS risk_scope")
        cursor.execute("DROP TABLE IF EXISTS risk_delta")


ESTIMATE_ABOVE = 100_000


def _count_identities() -> int:
    """The register's size: exact when small; on a large PostgreSQL table the planner's
    estimate, since an exact COUNT(*) after a big evaluation's writes costs a full scan."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples::bigint FROM pg_class "
                           "WHERE oid = 'inventory_identity'::regclass")
            estimate = cursor.fetchone()[0]
            if estimate > ESTIMATE_ABOVE:
                return estimate
        cursor.execute("SELECT COUNT(*) FROM inventory_identity")
        return cursor.fetchone()[0]


def _refresh_statistics(run: RiskRun) -> None:
    """After a large change (the first evaluation of a big register), refresh the
    planner's statistics so the next run's small joins use the indexes at once, without
    waiting for autovacuum."""
    if connection.vendor != "postgresql":
        return
    if run.opened + run.resolved + run.reopened + run.changed > ESTIMATE_ABOVE:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE inventory_finding")
            cursor.execute("ANALYZE inventory_identityrisk")


def _fill_scope(ctx: Context, scope) -> int:
    """Put the scope's identity ids in `risk_scope`, plus every identity sharing an
    active credential fingerprint with one of them (their verdicts depend on each other)."""
    kind, value = scope
    with connection.cursor() as cursor:
        if kind == "source":
            cursor.execute("INSERT INTO risk_scope (id) SELECT id FROM inventory_identity "
                           "WHERE source_id = %s", [value])
        elif ctx.b.pg:
            cursor.execute("INSERT INTO risk_scope (id) SELECT DISTINCT unnest(%s::bigint[])",
                           [value])
        else:
            cursor.executemany("INSERT INTO risk_scope (id) VALUES (%s)", [(i,) for i in value])
        # A semi-join (not DISTINCT over a join): its plan does not hinge on how well the
        # planner guesses the number of distinct fingerprints.
        cursor.execute(
            "INSERT INTO risk_scope (id) SELECT o.identity_id FROM inventory_credential o "
            "WHERE o.fingerprint <> '' AND EXISTS (SELECT 1 FROM inventory_credential c "
            "WHERE c.fingerprint = o.fingerprint AND c.identity_id <> o.identity_id "
            "AND c.fingerprint <> '' AND c.identity_id IN (SELECT id FROM risk_scope)) "
            "ON CONFLICT (id) DO NOTHING")
        if ctx.b.pg:
            cursor.execute("ANALYZE risk_scope")
        cursor.execute("SELECT COUNT(*) FROM risk_scope")
        return cursor.fetchone()[0]


def _delta_sql(ctx: Context, only_changed: bool = True) -> str:
    query = verdict_query(ctx.b, ctx.policy, ctx.rules, ctx.scoped, only_changed)
    return f"INSERT INTO risk_delta ({', '.join(DELTA_COLUMNS)}) {query}"


def _bit_of(ctx: Context, column: str) -> str:
    """The mask bit of the rule named in `column`; 0 for retired or disabled rules."""
    whens = " ".join(f"WHEN {ctx.b.p(r.code)} THEN {ctx.b.bigint(r.mask)}" for r in ctx.rules)
    return f"(CASE {column} {whens} ELSE 0 END)" if whens else "0"


def _severity_of(ctx: Context, column: str, rank: bool = False) -> str:
    """The rule's severity under the policy (or its rank, 0 = critical)."""
    def value(r: Rule) -> str:
        severity = ctx.policy.severity_of(r.code, r.severity)
        return str(SEVERITY_RANK[severity]) if rank else ctx.b.p(severity)

    whens = " ".join(f"WHEN {ctx.b.p(r.code)} THEN {value(r)}" for r in ctx.rules)
    current = "inventory_finding.severity_rank" if rank else "inventory_finding.severity"
    return f"(CASE {column} {whens} ELSE {current} END)"


def _resolve_sql(ctx: Context) -> str:
    b = ctx.b
    disabled = b.in_list("inventory_finding.rule", sorted(ctx.policy.disabled))
    known = b.in_list("inventory_finding.rule", [r.code for r in all_rules()])
    why = (f"CASE WHEN {disabled} THEN {b.p(f'rule switched off by policy v{ctx.policy.number}')}"
           f" WHEN NOT {known} THEN {b.p('rule retired')}"
           f" WHEN d.status <> 'active' THEN {b.p('identity is ')} || d.status"
           f" ELSE {b.p('condition no longer holds')} END")
    return f"""
    UPDATE inventory_finding SET status = 'resolved', resolved_at = {b.p(b.now)},
      resolved_by_id = NULL, resolved_why = {why}, last_detected_at = {b.p(ctx.previous)}
    FROM risk_delta d
    WHERE inventory_finding.identity_id = d.identity_id
      AND inventory_finding.status IN ('open', 'accepted')
      AND (d.mask & {_bit_of(ctx, 'inventory_finding.rule')}) = 0"""


def _reopen_sql(ctx: Context) -> str:
    b = ctx.b
    return f"""
    UPDATE inventory_finding SET status = 'open', opened_at = {b.p(b.now)},
      last_detected_at = {b.p(b.now)}, reopen_count = inventory_finding.reopen_count + 1,
      resolved_at = NULL, resolved_why = '', resolved_by_id = NULL, accepted_until = NULL,
      accepted_by_id = NULL, accepted_reason = '', accepted_at = NULL,
      severity = {_severity_of(ctx, 'inventory_finding.rule')},
      severity_rank = {_severity_of(ctx, 'inventory_finding.rule', rank=True)}
    FROM risk_delta d
    WHERE inventory_finding.identity_id = d.identity_id
      AND inventory_finding.status = 'resolved'
      AND (d.mask & {_bit_of(ctx, 'inventory_finding.rule')}) <> 0"""


def _rules_table(ctx: Context) -> str:
    b = ctx.b
    rows = []
    for r in ctx.rules:
        severity = ctx.policy.severity_of(r.code, r.severity)
        rows.append(f"SELECT {b.p(r.code)} AS code, {b.bigint(r.mask)} AS bit, "
                    f"{b.p(severity)} AS severity, {SEVERITY_RANK[severity]} AS severity_rank, "
                    f"{b.p(r.owasp)} AS owasp")
    return " UNION ALL ".join(rows) or \
        "SELECT '' AS code, 0 AS bit, '' AS severity, 3 AS severity_rank, '' AS owasp"


def _insert_sql(ctx: Context) -> str:
    b = ctx.b
    code = "gen_random_uuid()" if b.pg else "lower(hex(randomblob(16)))"
    now = b.p(b.now)
    return f"""
    INSERT INTO inventory_finding (code, identity_id, rule, severity, severity_rank, owasp,
      status, first_detected_at, last_detected_at, opened_at, reopen_count, accepted_reason,
      resolved_why)
    SELECT {code}, d.identity_id, r.code, r.severity, r.severity_rank, r.owasp, 'open', {now},
      {now}, {now}, 0, '', ''
    FROM risk_delta d JOIN ({_rules_table(ctx)}) r ON (d.mask & r.bit) <> 0
    WHERE NOT EXISTS (SELECT 1 FROM inventory_finding x
                      WHERE x.identity_id = d.identity_id AND x.rule = r.code)"""


def _expire_sql(ctx: Context) -> str:
    b = ctx.b
    return f"""
    UPDATE inventory_finding SET status = 'open', opened_at = {b.p(b.now)},
      last_detected_at = {b.p(b.now)}, reopen_count = reopen_count + 1
    WHERE status = 'accepted' AND accepted_until < {b.p(timezone.localdate(b.now))}"""


def _severity_sql(ctx: Context) -> str:
    expr = _severity_of(ctx, "inventory_finding.rule")
    rank = _severity_of(ctx, "inventory_finding.rule", rank=True)
    return (f"UPDATE inventory_finding SET severity = {expr}, severity_rank = {rank} "
            f"WHERE status <> 'resolved' AND severity <> {expr}")


def _policy_changed(policy: policies.Policy) -> bool:
    """Whether the policy differs from the one of the last full run (then every verdict
    is rewritten: severities and scores may move without any condition changing)."""
    last = RiskRun.objects.filter(full=True, error="").order_by("-started_at").first()
    if last is None:
        return policy.number is not None
    return last.policy_number != policy.number


def _store_sql(ctx: Context) -> str:
    cols = ("mask", "classification", "score", "home_zone", "reach", "last_used_at",
            "reactivated_at", "evaluated_at")
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols)
    return f"""
    INSERT INTO inventory_identityrisk (identity_id, {', '.join(cols)})
    SELECT identity_id, mask, classification, score, home_zone, reach, last_used_at,
      reactivated_at, {ctx.b.p(ctx.b.now)} FROM risk_delta WHERE 1 = 1
    ON CONFLICT (identity_id) DO UPDATE SET {updates}"""


def _score_sql(ctx: Context) -> str:
    return """
    UPDATE inventory_identity SET risk_score = d.score FROM risk_delta d
    WHERE inventory_identity.id = d.identity_id AND inventory_identity.risk_score <> d.score"""


def _audit(run: RiskRun) -> None:
    counts = {k: getattr(run, k) for k in ("scope_size", "changed", "opened", "reopened",
                                           "resolved", "expired", "scored")}
    record(Actor.system(f"risk-evaluation {run.code}"),
           Change("risk.evaluate", "risk_run", run.code, str(run), {}, counts),
           reason=run.trigger)
