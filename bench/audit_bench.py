"""Audit chain at scale: append, verify and checkpoint N events, and the audit page's
queries. Prints one JSON document.

Usage (a database of its own; its name must contain "bench", the script migrates it and
replaces its audit tables' content through TRUNCATE):
    DATABASE_URL=postgresql://postgres@127.0.0.1/nhigov_auditbench \\
        python bench/audit_bench.py --rows 200000

Times:
* `append`: `record_many` in batches of 2,000 (one transaction and chain lock each).
* `verify`: `verify_chain()` over the whole chain (streamed in 5,000-row chunks) vs.
  `scan`, one `SELECT` of the same columns read in full by psycopg (the floor: the same
  rows fetched with no hashing); peak RSS growth of the verifying process.
* `checkpoint`: `make_checkpoint()` after 2,000 new events (verifies only those).
* `page`: the audit page's work: `chain_status()` and the first and a deep keyset page
  filtered by action prefix.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nhigov.settings")
os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-0123456789")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from nhigov.lib.audit import Actor, Change, make_checkpoint, record_many, verify_chain  # noqa: E402
from nhigov.lib.audit_log import chain_status, filter_events  # noqa: E402
from nhigov.lib.keyset import paginate  # noqa: E402

BATCH = 2000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def changes(start: int, n: int):
    for i in range(start, start + n):
        yield Change("identity.update" if i % 3 else "source.update", "identity",
                     f"00000000-0000-0000-0000-{i:012d}", f"svc-{i}",
                     {"zone": "compute", "purpose": ""},
                     {"zone": "storage", "purpose": f"Purpose {i}"})


def append(rows: int) -> float:
    actor = Actor.system("audit-bench")
    started = time.perf_counter()
    for start in range(0, rows, BATCH):
        record_many(actor, changes(start, min(BATCH, rows - start)), reason="bench")
    return time.perf_counter() - started


def scan() -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, at, actor_type, actor, action, object_type, object_id, "
                       "reason, before, after, request_id, prev_hash, hash "
                       "FROM nhigov_auditevent ORDER BY id")
        while cursor.fetchmany(5000):
            pass
    return time.perf_counter() - started


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true",
                        help="Keep the chain a previous run appended (times verify again).")
    args = parser.parse_args()
    if connection.vendor != "postgresql" or "bench" not in connection.settings_dict["NAME"]:
        sys.exit("Point DATABASE_URL at a PostgreSQL database whose name contains 'bench'.")
    call_command("migrate", verbosity=0)
    out: dict = {"rows": args.rows}
    if not args.reuse:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE nhigov_auditevent, nhigov_auditcheckpoint RESTART IDENTITY")
        out["append_s"] = round(append(args.rows), 2)
        out["append_per_s"] = round(args.rows / out["append_s"])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE nhigov_auditevent")
    out["scan_s"] = round(scan(), 2)
    rss_before = rss_mb()
    report, seconds = timed(verify_chain)
    out.update(verify_ok=report.ok, verify_checked=report.checked, verify_s=round(seconds, 2),
               verify_per_s=round(report.checked / seconds),
               verify_x_scan=round(seconds / out["scan_s"], 2),
               verify_rss_growth_mb=round(rss_mb() - rss_before, 1))
    _cp, out["first_checkpoint_s"] = timed(make_checkpoint)
    append(BATCH)
    _cp, out["checkpoint_after_2000_s"] = timed(make_checkpoint)
    status, out["page_chain_status_s"] = timed(chain_status)
    out["page_chain_status_checked"] = status.result.checked
    qs = filter_events({"action": "source."})
    page, out["page_first_s"] = timed(lambda: paginate(qs, "-id", 50))
    deep = None
    for _ in range(20):
        deep = paginate(qs, "-id", 50, after=(deep or page).next_cursor)
    _p, out["page_21st_s"] = timed(lambda: paginate(qs, "-id", 50, after=deep.next_cursor))
    out["checkpoint_verify_s"] = round(timed(verify_chain)[1], 2)
    for key in ("first_checkpoint_s", "checkpoint_after_2000_s", "page_chain_status_s",
                "page_first_s", "page_21st_s"):
        out[key] = round(out[key], 4)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
