"""Evidence pack export at scale: the streaming inventory CSV (and the whole pack) against
PostgreSQL's own COPY (SELECT same columns ...) TO STDOUT, side by side.

Usage: DATABASE_URL=postgresql://postgres@127.0.0.1/nhigov_evbench \
       python bench/evidence_bench.py --rows 1000000 [--repeat 2] [--no-orm]
Fills the database once with bench/register_pages.py's synthetic identities (COPY), then
times each export in-process, draining the bytes as a client would. Memory is the peak
RSS growth over the run (VmHWM from /proc, reset through clear_refs before each case).
Prints one JSON document. Never part of the test suite.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nhigov.settings")
os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from inventory import export  # noqa: E402
from inventory.models import Identity  # noqa: E402
from nhigov.evidence import files  # noqa: E402
from nhigov.evidence.builder import EvidencePack  # noqa: E402
from nhigov.evidence.zipstream import StreamingZip  # noqa: E402
from nhigov.lib.audit import Actor  # noqa: E402


def _register_pages():
    spec = importlib.util.spec_from_file_location("register_pages", ROOT / "bench" /
                                                  "register_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class PeakRss:
    """Peak RSS growth (MB) while the block runs: VmHWM after resetting it, with a
    sampling thread as a fallback where clear_refs is not writable."""

    def __enter__(self) -> PeakRss:
        self.base = _status_kb("VmRSS")
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.hwm = True
        except OSError:
            self.hwm = False
        self.sampled, self.running = self.base, True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.sampled = max(self.sampled, _status_kb("VmRSS"))
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join()
        peak = max(self.sampled, _status_kb("VmHWM") if self.hwm else 0)
        self.growth_mb = round((peak - self.base) / 1024, 1)


def _drain(chunks) -> int:
    size = 0
    for chunk in chunks:
        size += len(chunk)
    return size


def inventory_sql() -> tuple[str, tuple]:
    """The exact SELECT the streaming export runs (same columns, joins and order)."""
    qs = Identity.objects.order_by("id").values_list(*[p for _, p in export.COLUMNS])
    return qs.query.get_compiler(using="default").as_sql()


def copy_inventory() -> dict:
    sql, params = inventory_sql()
    with connection.cursor() as cursor:
        statement = cursor.cursor.mogrify(sql, params) if params else sql
        with cursor.cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT csv, HEADER)") as copy:
            size = _drain(copy)
    return {"bytes": size}


def stream_inventory_csv() -> dict:
    csv_file = files.inventory(None)
    return {"bytes": _drain(csv_file.chunks()), "rows": csv_file.rows}


def stream_inventory_csv_orm() -> dict:
    """The portable path (SQLite and other databases): ORM rows and safe_cell per cell."""
    paths = [p for _, p in export.COLUMNS]
    csv_file = files.CsvFile([n for n, _ in export.COLUMNS],
                             files._stream(Identity.objects.all(), paths))
    return {"bytes": _drain(csv_file.chunks()), "rows": csv_file.rows}


def stream_inventory_zipped() -> dict:
    archive = StreamingZip(django.utils.timezone.now())
    csv_file = files.inventory(None)
    size = _drain(archive.add("inventory.csv", csv_file.chunks())) + _drain(archive.close())
    return {"bytes": size, "rows": csv_file.rows}


def whole_pack() -> dict:
    pack = EvidencePack.create("soc2", files.Period(date(2026, 7, 1), date(2026, 9, 30)),
                               Actor.system("bench/evidence_bench.py"))
    return {"bytes": _drain(pack.stream())}


def measure(case) -> tuple[float, float, dict]:
    with PeakRss() as memory:
        start = time.perf_counter()
        result = case()
        seconds = time.perf_counter() - start
    return seconds, memory.growth_mb, result


def run(cases: dict, rows: int, repeat: int) -> dict:
    """Rounds of every case in turn (interleaved), so load from other processes on a shared
    machine falls on all of them alike; the median of the rounds is reported."""
    samples = {name: [] for name in cases}
    for _ in range(repeat):
        for name, case in cases.items():
            samples[name].append(measure(case))
    results = {}
    for name, runs in samples.items():
        seconds = statistics.median(s for s, _, _ in runs)
        results[name] = {**runs[-1][2], "seconds": round(seconds, 2),
                         "rows_per_s": round(rows / seconds),
                         "seconds_each": [round(s, 2) for s, _, _ in runs],
                         "peak_rss_growth_mb": max(g for _, g, _ in runs)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-orm", action="store_true",
                        help="Skip the ORM-path case (about 10x slower than the others).")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/evidence_bench.py needs DATABASE_URL=postgresql://...")
    call_command("migrate", verbosity=0)
    load_seconds = _register_pages().ensure_rows(args.rows)
    rows = Identity.objects.count()
    copy_inventory()  # warm the buffer cache so neither side pays the first read
    cases = {
        "copy_to_stdout": copy_inventory,
        "stream_inventory_csv": stream_inventory_csv,
        "stream_inventory_csv_in_zip": stream_inventory_zipped,
        "stream_inventory_csv_orm_path": stream_inventory_csv_orm,
        "whole_pack_soc2": whole_pack,
    }
    if args.no_orm:
        del cases["stream_inventory_csv_orm_path"]
    results = run(cases, rows, args.repeat)
    copy_rate = results["copy_to_stdout"]["rows_per_s"]
    print(json.dumps({
        "rows": rows, "load_seconds": round(load_seconds, 1), "repeat": args.repeat,
        "cases": results,
        "ratio_to_copy": {name: round(r["rows_per_s"] / copy_rate, 3)
                          for name, r in results.items() if name != "copy_to_stdout"},
        "targets": {"ratio_to_copy_min": 0.4, "peak_rss_growth_mb_max": 100},
    }, indent=2))


if __name__ == "__main__":
    main()
