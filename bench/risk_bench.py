"""Risk evaluation at scale: a full evaluation of the register vs one sequential scan of the
identity table reading the same columns, side by side. Prints one JSON document.

Usage:
    DATABASE_URL=postgresql://postgres@127.0.0.1/nhigov_riskbench \\
        python bench/risk_bench.py --rows 1000000

Fills the database once through COPY (identities, ~0.8 credentials per identity, people
of whom some have left, teams, three sources and environments), then times:

* `scan`: `SELECT <aggregates over every column the rules read> FROM inventory_identity`,
  with parallel workers off: one sequential scan (the yardstick). It is timed again just
  before each evaluation, so each ratio compares the same table state under the same
  load (`x_scan`).
* `first`: the first full evaluation (opens every finding: the write-heavy case).
* `steady`: a full evaluation of an unchanged register (the nightly case), after the
  VACUUM ANALYZE that autovacuum would run after the first evaluation's bulk writes.
* `changed_1pct`: a full evaluation after 1% of the identities changed.
* `source`: the evaluation of one source after its sync (a third of the register).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nhigov.settings")
os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-0123456789")
os.environ.setdefault("RISK_EVALUATE_ON_SAVE", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from inventory.models import Finding, Identity, IdentityRisk, Source  # noqa: E402
from inventory.risk.engine import evaluate_all, evaluate_source  # noqa: E402
from ownership.models import Person, Team  # noqa: E402

KINDS = ["iam_user", "cloud_role", "k8s_service_account", "vault_approle", "api_key",
         "certificate", "vault_token"]
PROVIDER = {"iam_user": "aws", "cloud_role": "aws", "k8s_service_account": "kubernetes",
            "vault_approle": "vault", "vault_token": "vault", "api_key": "saas",
            "certificate": "certificate"}
ZONES = ["access", "management", "compute", "storage", ""]
PRIVS = ["read", "read", "read", "write", "write", "admin", "unknown"]
AUTH = ["static_secret", "short_lived_token", "workload_federation"]
ATTRIBUTES = [
    "{}",
    json.dumps({"account_id": "111122223333", "trust": {"oidc_sub_restricted": True,
                                                        "anyone": False,
                                                        "external_accounts": []},
                "policies": [{"name": "AmazonS3ReadOnlyAccess", "level": "read"}]}),
    json.dumps({"account_id": "111122223333", "trust": {"oidc_sub_restricted": False},
                "policies": [{"name": "AdministratorAccess", "level": "admin"}]}),
    json.dumps({"namespace": "ml-train", "bindings": [{"role": "ClusterRole/edit",
                                                       "scope": "ml-train"}],
                "privilege_reasons": []}),
    json.dumps({"mount": "approle", "token_policies": ["db-read"], "mfa_devices": 0}),
]
IDENTITY_COLS = [
    "code", "source_id", "external_id", "provider", "kind", "name", "path", "environment_id",
    "zone", "purpose", "workload", "change_ticket", "technical_owner_id", "business_owner_id",
    "team_id", "privilege", "permissions_summary", "interactive_login", "auth_method",
    "created_at_source", "last_used_at", "last_rotated_at", "expires_at", "status",
    "first_seen_at", "last_seen_at", "tags", "attributes", "owner_hints", "data_hash",
    "risk_score", "updated_at",
]
CREDENTIAL_COLS = ["code", "identity_id", "kind", "external_id", "fingerprint",
                   "created_at_source", "last_used_at", "expires_at", "status",
                   "key_algorithm", "key_size", "attributes", "first_seen_at", "updated_at"]


def _fixtures() -> dict:
    sources = [Source.objects.get_or_create(name=n, defaults={"kind": k})[0].pk
               for n, k in (("aws-prod", "aws"), ("k8s-gpu", "kubernetes"), ("vault", "vault"))]
    from inventory.models import Environment

    envs = [Environment.objects.get_or_create(slug=s, defaults={"name": s.title()})[0].pk
            for s in ("production", "staging", "development")]
    teams = [Team.objects.get_or_create(slug=f"bench-{i}", defaults={"name": f"Bench {i}"})[0].pk
             for i in range(40)]
    people = [Person.objects.get_or_create(
        email=f"owner{i}@bench.test", defaults={"name": f"Owner {i}", "is_active": i % 20 != 0}
    )[0].pk for i in range(2000)]
    return {"sources": sources, "envs": envs, "teams": teams, "people": people}


def _identity_row(n: int, rng: random.Random, fx: dict, now: datetime) -> tuple:
    kind = rng.choice(KINDS)
    owner = rng.choice(fx["people"]) if rng.random() > 0.3 else None
    used = now - timedelta(days=rng.randint(0, 400)) if rng.random() > 0.15 else None
    expires = now + timedelta(days=rng.randint(-30, 700)) if kind in (
        "certificate", "vault_token") or rng.random() < 0.1 else None
    created = now - timedelta(days=rng.randint(1, 900))
    return (
        uuid.uuid4(), fx["sources"][n % 3], f"bench/{n}", PROVIDER[kind], kind,
        f"svc-{n:07d}-{rng.choice(['train', 'infer', 'etl', 'ci'])}", f"/bench/{n % 997}/",
        rng.choice(fx["envs"]), rng.choice(ZONES), "" if rng.random() < 0.3 else "batch job",
        "", "", owner, rng.choice(fx["people"]) if owner and rng.random() > 0.5 else None,
        rng.choice(fx["teams"] + [None]), rng.choice(PRIVS), "", rng.random() < 0.03,
        rng.choice(AUTH), created, used,
        created + timedelta(days=rng.randint(0, 300)) if rng.random() < 0.5 else None, expires,
        "active" if rng.random() < 0.92 else rng.choice(["disabled", "missing"]), now, now,
        json.dumps(["break-glass"] if rng.random() < 0.001 else []), rng.choice(ATTRIBUTES),
        "{}", "", 0, now,
    )


def _credential_rows(identity_id: int, n: int, rng: random.Random, now: datetime):
    for k in range(rng.choice([0, 0, 1, 1, 2])):
        cert = rng.random() < 0.2
        yield (
            uuid.uuid4(), identity_id, "certificate" if cert else rng.choice(
                ["access_key", "secret_id", "token", "api_key"]),
            f"bench-{n}-{k}", f"{n:032x}{k:032x}" if cert else "",
            now - timedelta(days=rng.randint(0, 500)),
            now - timedelta(days=rng.randint(0, 100)) if rng.random() < 0.5 else None,
            now + timedelta(days=rng.randint(-10, 800)) if cert or rng.random() < 0.3 else None,
            "active" if rng.random() < 0.85 else "inactive",
            ("RSA" if rng.random() < 0.8 else "EC") if cert else "",
            rng.choice([1024, 2048, 2048, 4096]) if cert else None, "{}", now, now,
        )


def ensure_rows(total: int) -> float:
    """Fill the register up to `total` identities with COPY; returns seconds spent."""
    have = Identity.objects.count()
    if have >= total:
        return 0.0
    start = time.perf_counter()
    fx = _fixtures()
    rng, now = random.Random(7), datetime.now(UTC)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY inventory_identity ({', '.join(IDENTITY_COLS)}) FROM STDIN") as cp:
            for n in range(have, total):
                cp.write_row(_identity_row(n, rng, fx, now))
        cursor.execute("SELECT id FROM inventory_identity WHERE id NOT IN "
                       "(SELECT identity_id FROM inventory_credential) ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        with raw.copy(f"COPY inventory_credential ({', '.join(CREDENTIAL_COLS)}) "
                      "FROM STDIN") as cp:
            for identity_id in ids:
                for row in _credential_rows(identity_id, identity_id, rng, now):
                    cp.write_row(row)
        cursor.execute("ANALYZE inventory_identity")
        cursor.execute("ANALYZE inventory_credential")
    return time.perf_counter() - start


SCAN_SQL = """
SELECT count(*), max(status), max(kind), max(provider), max(privilege), max(auth_method),
  bool_or(interactive_login), max(name), max(path), max(length(purpose)), max(workload),
  max(created_at_source), max(first_seen_at), max(last_used_at), max(last_rotated_at),
  max(expires_at), max(last_attested_at), max(next_review_due), max(zone),
  max(environment_id), max(technical_owner_id), max(business_owner_id), max(backup_owner_id),
  max(team_id), max(source_id), max(risk_score), max(code::text),
  count(attributes #>> '{trust,oidc_sub_restricted}'), max(length(tags::text)),
  max(length(permissions_summary)), max(deprovision_requested_at)
FROM inventory_identity"""


def scan_seconds(repeat: int) -> dict:
    samples = []
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")  # one sequential scan
        cursor.execute(SCAN_SQL)  # warm the cache
        for _ in range(repeat):
            start = time.perf_counter()
            cursor.execute(SCAN_SQL)
            cursor.fetchall()
            samples.append(time.perf_counter() - start)
        cursor.execute("RESET max_parallel_workers_per_gather")
    return {"median_s": round(statistics.median(samples), 3), "runs": len(samples)}


def backend_memory() -> dict:
    """Peak memory of this connection's PostgreSQL backend (where the evaluation runs),
    from /proc: VmHWM counts the shared buffers it touched too; RssAnon is its private
    memory now (hash tables and sorts are freed at the end of each statement, so the
    peak private memory shows in temp files when work_mem is too small, not here)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # PostgreSQL on another host
        return {}
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {key: round(int(fields[key].split()[0]) / 1024) for key in ("VmHWM", "RssAnon")
            if key in fields}


def temp_bytes() -> int:
    """Bytes this database has spilled to temporary files so far (sorts and hashes that
    did not fit in work_mem)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT temp_bytes FROM pg_stat_database WHERE datname = "
                       "current_database()")
        return int(cursor.fetchone()[0])


def timed_run(fn) -> dict:
    """Run one evaluation; its time, query count, what it changed and its slowest steps."""
    steps: list[tuple[float, str]] = []

    def clock(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            steps.append((time.perf_counter() - start, " ".join(sql.split())[:48]))

    spilled = temp_bytes()
    with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(clock):
        start = time.perf_counter()
        run = fn()
        seconds = time.perf_counter() - start
    spilled = temp_bytes() - spilled
    slowest = {text: round(spent, 2) for spent, text in sorted(steps, reverse=True)[:4]}
    return {"seconds": round(seconds, 2), "queries": len(ctx.captured_queries),
            "scope": run.scope_size, "changed": run.changed, "opened": run.opened,
            "reopened": run.reopened, "resolved": run.resolved, "scored": run.scored,
            "temp_file_mb": round(spilled / 2**20, 1), "slowest_statements_s": slowest}


def reset_verdicts() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE inventory_finding, inventory_identityrisk")
        cursor.execute("UPDATE inventory_identity SET risk_score = 0 WHERE risk_score <> 0")
        cursor.execute("VACUUM ANALYZE inventory_identity")


def change_one_percent() -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_identity SET purpose = CASE WHEN purpose = '' "
                       "THEN 'now explained' ELSE '' END, last_used_at = now() "
                       "WHERE mod(id, 100) = 7")


def paired(fn) -> dict:
    """One evaluation with the yardstick scan timed just before it, on the same table
    state and under the same machine load (the bench host is shared): its ratio."""
    scan = scan_seconds(1)["median_s"]
    run = timed_run(fn)
    return {**run, "scan_s": scan, "x_scan": round(run["seconds"] / scan, 2)}


def settle() -> float:
    """VACUUM ANALYZE after the first evaluation's bulk writes, as autovacuum would do
    within a minute (900,000 dead identity rows are far past its 20% threshold): the
    nightly runs that follow meet a settled register."""
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for table in ("inventory_identity", "inventory_finding", "inventory_identityrisk"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return round(time.perf_counter() - start, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="Keep the previous findings.")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/risk_bench.py needs DATABASE_URL=postgresql://...")
    call_command("migrate", verbosity=0)
    load = ensure_rows(args.rows)
    if not args.keep:
        reset_verdicts()
    scan = scan_seconds(args.repeat)
    first = paired(lambda: evaluate_all("bench first"))
    vacuum = settle()
    steady = [paired(lambda: evaluate_all("bench steady")) for _ in range(args.repeat)]
    change_one_percent()
    changed = paired(lambda: evaluate_all("bench 1%"))
    source = paired(lambda: evaluate_source(Source.objects.get(name="aws-prod").pk,
                                            "bench source"))

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    print(json.dumps({
        "postgres": version, "identities": Identity.objects.count(),
        "credentials": Identity.credentials.rel.related_model.objects.count(),
        "load_seconds": round(load, 1),
        "findings": Finding.objects.count(), "verdicts": IdentityRisk.objects.count(),
        "scan_identity_table_before_first": scan,
        "first_full_evaluation": first,
        "vacuum_analyze_after_first_s": vacuum,
        "steady_full_evaluation": {
            "median_s": statistics.median(s["seconds"] for s in steady),
            "median_x_scan": statistics.median(s["x_scan"] for s in steady),
            "runs": [{k: s[k] for k in ("seconds", "scan_s", "x_scan")} for s in steady],
            "queries": steady[0]["queries"], "changed": steady[0]["changed"],
            "temp_file_mb": max(s["temp_file_mb"] for s in steady),
            "slowest_statements_s": steady[-1]["slowest_statements_s"]},
        "full_evaluation_after_1pct_changed": changed,
        "source_evaluation_one_third": source,
        "peak_memory_mb": {
            "bench_process_rss": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                       / 1024),
            "postgres_backend": backend_memory(),
            "work_mem_for_evaluation": settings.RISK_WORK_MEM,
        },
    }, indent=2))


if __name__ == "__main__":
    main()
