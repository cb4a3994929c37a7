"""Sync throughput at scale: a synthetic connector's N identities through `sync_records`,
against a raw COPY of the same rows into identically indexed tables.

Usage: DATABASE_URL=postgresql://.../nhigov_syncbench python bench/sync_bench.py --rows 1000000

The database named in DATABASE_URL is dropped and created again (its name must contain
"bench"), then migrated. Steps, each after a CHECKPOINT so no phase pays for another's dirty
pages:
1. first sync of N identities (one credential each) in a child process, timed; the child
   reports its peak RSS (the worker's memory, measured alone);
2. baseline: the rows the sync wrote to inventory_identity and inventory_credential, dumped
   to files beforehand (untimed), COPYed into `CREATE TABLE ... (LIKE ... INCLUDING ALL)`
   copies (same columns, constraints and indexes, trigram ones included; no foreign keys,
   which LIKE does not copy), in one transaction, timed;
3. second sync of the same N records, nothing changed, timed, with n_tup_ins / n_tup_upd of
   the register tables read from pg_stat_user_tables before and after.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nhigov.settings")
os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-0123456789")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402
from psycopg import sql  # noqa: E402

from inventory.connectors.base import CredentialRecord, IdentityRecord  # noqa: E402
from inventory.filtersets import IdentityFilterSet  # noqa: E402
from inventory.models import Identity, Source, SyncChange, SyncRun  # noqa: E402
from inventory.sync import sync_records  # noqa: E402
from nhigov.lib.keyset import bounded_count, paginate  # noqa: E402
from ownership.models import Person, Team  # noqa: E402

SOURCE = "bench-synthetic"
TEAMS = [f"team-{n:02d}" for n in range(40)]
PEOPLE = 500
ENVIRONMENTS = ["production", "staging", "development"]
WORKS = ["etl", "ci", "deploy", "backup", "reporting", "ingest", "billing", "search"]
POLICIES = ["AmazonS3ReadOnlyAccess", "AmazonDynamoDBFullAccess", "CloudWatchLogsFullAccess",
            "AmazonSQSFullAccess", "AWSLambdaRole", "AdministratorAccess", "ReadOnlyAccess"]
BASE = datetime(2025, 6, 1, tzinfo=UTC)
TABLES = ["inventory_identity", "inventory_credential", "inventory_syncchange"]
LIMITS = {"first_sync_over_copy": 4.0, "second_sync_over_copy": 1.5, "peak_rss_mb": 500}


def synthetic_records(count: int, seed: int = 20251):
    """`count` IAM-user-like records, one access key each, with realistic field widths.
    Deterministic: the same seed yields the same records (so a second run changes nothing)."""
    rng = random.Random(seed)
    for n in range(count):
        team, work = TEAMS[n % len(TEAMS)], rng.choice(WORKS)
        name = f"svc-{work}-{n:07d}"
        arn = f"arn:aws:iam::{410000000000 + n % 50}:user/{team}/{name}"
        policies = rng.sample(POLICIES, rng.randint(1, 3))
        created = BASE - timedelta(days=rng.randint(30, 1500), seconds=rng.randint(0, 86399))
        used = BASE - timedelta(days=rng.randint(0, 200)) if rng.random() > 0.1 else None
        key_id = f"AKIA{n:016X}"
        yield IdentityRecord(
            external_id=arn, provider="aws", kind="iam_user", name=name, path=f"/{team}/",
            environment=ENVIRONMENTS[n % 3],
            privilege="admin" if "AdministratorAccess" in policies else rng.choice(
                ["read", "write"]),
            permissions_summary=", ".join(policies), interactive_login=rng.random() < 0.03,
            auth_method="static_secret", created_at_source=created, last_used_at=used,
            last_rotated_at=created + timedelta(days=rng.randint(0, 25)),
            tags=[f"team:{team}", f"cost-center:{1000 + n % 300}"],
            attributes={"arn": arn, "user_id": f"AIDA{n:017X}", "policies": policies},
            owner_hints={"owner": f"owner{n % PEOPLE}@bench.test", "team": team},
            credentials=[CredentialRecord(
                "access_key", key_id, created_at_source=created + timedelta(days=1),
                last_used_at=used, attributes={"region": "eu-west-1"})],
        )


# --- child process: one sync, measured alone ----------------------------------------------


def child(rows: int) -> None:
    source = Source.objects.get(name=SOURCE)
    start = time.perf_counter()
    run = sync_records(source, synthetic_records(rows), triggered_by="bench")
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({
        "seconds": round(seconds, 2), "peak_rss_mb": round(peak_kb / 1024, 1),
        "status": run.status, "error": run.error,
        "counts": {k: getattr(run, k) for k in ("seen", "created", "updated", "unchanged",
                                                "missing", "returned")},
        "change_rows": SyncChange.objects.filter(run=run).count(),
    }))


def run_child(rows: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", "--rows", str(rows)],  # noqa: S603
                          capture_output=True, text=True, check=False, env=os.environ)
    if done.returncode:
        sys.exit(f"sync child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- parent: database, baseline, statistics ------------------------------------------------


def dsn(dbname: str | None = None) -> str:
    params = connection.get_connection_params()
    keep = {k: params[k] for k in ("host", "port", "user", "password") if params.get(k)}
    keep["dbname"] = dbname or params["dbname"]
    return psycopg.conninfo.make_conninfo(**keep)


def fresh_database() -> None:
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        sys.exit(f"refusing to drop database {name!r}: its name must contain 'bench'")
    connection.close()
    with psycopg.connect(dsn("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    call_command("migrate", verbosity=0)
    Source.objects.create(name=SOURCE, kind="aws")
    Team.objects.bulk_create([Team(slug=t, name=t.replace("-", " ").title()) for t in TEAMS])
    Person.objects.bulk_create([Person(email=f"owner{n}@bench.test", name=f"Owner {n}")
                                for n in range(PEOPLE)])
    connection.close()


def checkpoint() -> None:
    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def table_stats() -> dict:
    """n_tup_ins / n_tup_upd per table, from a new connection (a fresh stats snapshot)."""
    time.sleep(1.5)  # backends flush their counters at most once a second and at exit
    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = conn.execute("SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables "
                            "WHERE relname = ANY(%s)", [TABLES]).fetchall()
    return {name: {"ins": ins, "upd": upd} for name, ins, upd in rows}


def dump(table: str, folder: str) -> str:
    path = os.path.join(folder, f"{table}.copy")
    with psycopg.connect(dsn()) as conn, open(path, "wb") as out, conn.cursor().copy(
            sql.SQL("COPY (SELECT * FROM {} ORDER BY id) TO STDOUT").format(
                sql.Identifier(table))) as copy:
        for block in copy:
            out.write(block)
    return path


def baseline(files: dict[str, str]) -> dict:
    """COPY the dumped rows into LIKE ... INCLUDING ALL copies, in one timed transaction."""
    with psycopg.connect(dsn(), autocommit=True) as conn:
        indexes = {}
        for table in files:
            copy_table = f"bench_copy_{table}"
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(copy_table)))
            conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                sql.Identifier(copy_table), sql.Identifier(table)))
            indexes[table] = [_index_count(conn, table), _index_count(conn, copy_table)]
        checkpoint()
        start = time.perf_counter()
        with conn.transaction():
            for table, path in files.items():
                with open(path, "rb") as data, conn.cursor().copy(sql.SQL(
                        "COPY {} FROM STDIN").format(sql.Identifier(f"bench_copy_{table}"))
                        ) as copy:
                    while block := data.read(1 << 20):
                        copy.write(block)
        seconds = time.perf_counter() - start
        for table in files:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(f"bench_copy_{table}")))
    return {"seconds": round(seconds, 2), "indexes_original_vs_copy": indexes}


def _index_count(conn, table: str) -> int:
    return conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s",
                        [table]).fetchone()[0]


def generator_seconds(rows: int) -> float:
    """What the synthetic connector alone costs: building the records, nothing else."""
    start = time.perf_counter()
    for _ in synthetic_records(rows):
        pass
    return round(time.perf_counter() - start, 2)


def register_filter(query: str, repeat: int = 5) -> dict:
    """The register's first page and bounded count for `query`, as the list view runs them
    (median milliseconds)."""
    samples, rows, count = [], 0, 0
    for _ in range(repeat + 1):  # the first call warms the cache and is not counted
        start = time.perf_counter()
        fs = IdentityFilterSet(QueryDict(query), queryset=Identity.objects.all())
        assert fs.is_valid(), fs.errors
        rows = len(paginate(fs.qs, "name", 50).rows)
        count = bounded_count(fs.qs, 10_000, True)[0]
        samples.append((time.perf_counter() - start) * 1000)
    return {"query": query, "page_rows": rows, "count_capped_10000": count,
            "median_ms": round(statistics.median(samples[1:]), 1)}


def diff(before: dict, after: dict) -> dict:
    return {t: {k: after[t][k] - before[t][k] for k in ("ins", "upd")} for t in TABLES}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/sync_bench.py needs DATABASE_URL=postgresql://...")
    if args.child:
        return child(args.rows)
    fresh_database()
    gen = generator_seconds(args.rows)
    checkpoint()
    stats0 = table_stats()
    first = run_child(args.rows)
    stats1 = table_stats()
    with tempfile.TemporaryDirectory(prefix="sync_bench_") as folder:
        files = {t: dump(t, folder) for t in ("inventory_identity", "inventory_credential")}
        sizes_mb = {t: round(os.path.getsize(p) / 2**20, 1) for t, p in files.items()}
        copy = baseline(files)
    checkpoint()
    second = run_child(args.rows)
    stats2 = table_stats()
    first_run, second_run = SyncRun.objects.order_by("started_at")[:2]
    filters = [register_filter(f"run={first_run.code}&change=created"),
               register_filter(f"run={second_run.code}&change=updated")]
    ratios = {"first_sync_over_copy": round(first["seconds"] / copy["seconds"], 2),
              "second_sync_over_copy": round(second["seconds"] / copy["seconds"], 2)}
    peak = max(first["peak_rss_mb"], second["peak_rss_mb"])
    second_writes = diff(stats1, stats2)
    print(json.dumps({
        "rows": args.rows,
        "identities": Identity.objects.count(),
        "copy_baseline": {**copy, "dump_mb": sizes_mb},
        "generator_only_seconds": gen,
        "first_sync": {**first, "table_writes": diff(stats0, stats1)},
        "second_sync": {**second, "table_writes": second_writes},
        "register_filter": filters,
        "ratios": ratios,
        "limits": LIMITS,
        "pass": {
            "first_sync_over_copy": ratios["first_sync_over_copy"] <= LIMITS[
                "first_sync_over_copy"],
            "second_sync_over_copy": ratios["second_sync_over_copy"] <= LIMITS[
                "second_sync_over_copy"],
            "second_sync_updates_nothing": all(
                w["upd"] == 0 and w["ins"] == 0 for w in second_writes.values()),
            "peak_rss_mb": peak < LIMITS["peak_rss_mb"],
        },
    }, indent=2))


if __name__ == "__main__":
    main()
