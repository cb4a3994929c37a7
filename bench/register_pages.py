"""Register list page and list API at scale: latency per page vs. raw SQL, queries per page.

Usage: DATABASE_URL=postgresql://.../nhigov_bench python bench/register_pages.py --rows 1000000
Fills the database with synthetic identities through COPY (once), then times requests
in-process through Django's test client. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nhigov.settings")
os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from inventory.models import Environment, Identity, Source  # noqa: E402
from nhigov.lib.keyset import _encode  # noqa: E402
from ownership.models import Person, Team  # noqa: E402

KINDS = ["iam_user", "cloud_role", "k8s_service_account", "vault_approle", "api_key",
         "certificate", "vault_token"]
ZONES = ["access", "management", "compute", "storage"]
PRIVS = ["read", "read", "read", "write", "write", "admin", "unknown"]
STATUSES = ["active"] * 8 + ["disabled", "missing"]


def ensure_rows(total: int) -> float:
    """Fill inventory_identity up to `total` rows with COPY; returns seconds spent."""
    have = Identity.objects.count()
    if have >= total:
        return 0.0
    start = time.perf_counter()
    source, _ = Source.objects.get_or_create(name="bench", defaults={"kind": "aws"})
    envs = [Environment.objects.get_or_create(slug=s, defaults={"name": s.title()})[0].pk
            for s in ("production", "staging", "development")]
    team_ids = [Team.objects.get_or_create(slug=f"bench-{i}", defaults={"name": f"Bench {i}"})[0].pk
                for i in range(40)]
    people = [Person.objects.get_or_create(email=f"owner{i}@bench.test",
                                           defaults={"name": f"Owner {i}"})[0].pk
              for i in range(2000)]
    rng = random.Random(7)
    now = datetime.now(UTC)
    cols = ["code", "source_id", "external_id", "provider", "kind", "name", "path",
            "environment_id", "zone", "purpose", "workload", "change_ticket", "technical_owner_id",
            "business_owner_id", "team_id", "privilege", "permissions_summary",
            "interactive_login", "auth_method", "last_used_at", "expires_at", "status",
            "first_seen_at", "tags", "attributes", "owner_hints", "data_hash", "risk_score",
            "updated_at"]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY inventory_identity ({', '.join(cols)}) FROM STDIN") as copy:
            for n in range(have, total):
                owner = rng.choice(people) if rng.random() > 0.35 else None
                used = now - timedelta(days=rng.randint(0, 400)) if rng.random() > 0.1 else None
                expires = (now + timedelta(days=rng.randint(-30, 700))
                           if rng.random() > 0.5 else None)
                copy.write_row((
                    uuid.uuid4(), source.pk, f"bench/{n}", "aws", rng.choice(KINDS),
                    f"svc-{n:07d}-{rng.choice(['train', 'infer', 'etl', 'ci'])}",
                    f"/bench/{n % 997}/",
                    rng.choice(envs), rng.choice(ZONES), "", "", "", owner,
                    rng.choice(people) if owner and rng.random() > 0.5 else None,
                    rng.choice(team_ids), rng.choice(PRIVS), "", rng.random() < 0.05,
                    "static_secret", used, expires, rng.choice(STATUSES), now, "[]", "{}", "{}",
                    "", rng.randint(0, 100), now,
                ))
        cursor.execute("ANALYZE inventory_identity")
    return time.perf_counter() - start


def timed(fn, repeat: int) -> dict:
    fn()  # warm caches and connections
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(samples), 2),
            "p95_ms": round(sorted(samples)[int(len(samples) * 0.95) - 1], 2)}


def get_ok(client: Client, url: str):
    def call():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    return call


def raw_sql(sql: str, params: list):
    def call():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()
    return call


def api_cursor(token: str, sort: str = "name") -> str:
    """The API's cursor: the page's keyset token plus direction and sort."""
    blob = json.dumps({"d": "a", "k": token, "s": sort}, separators=(",", ":"))
    return base64.urlsafe_b64encode(blob.encode()).decode().rstrip("=")


def queries_per_page(client: Client, url: str, sizes: list[int], param: str | None) -> dict:
    counts = {}
    for size in sizes:
        with override_settings(REGISTER_PAGE_SIZE=size), CaptureQueriesContext(connection) as ctx:
            target = f"{url}{'&' if '?' in url else '?'}{param}={size}" if param else url
            assert client.get(target).status_code == 200
        counts[str(size)] = len(ctx.captured_queries)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/register_pages.py needs DATABASE_URL=postgresql://...")
    call_command("migrate", verbosity=0)
    load_seconds = ensure_rows(args.rows)
    user, _ = get_user_model().objects.get_or_create(username="bench@bench.test",
                                                     defaults={"email": "bench@bench.test"})
    user.groups.add(Group.objects.get(name="analyst"))
    client = Client()
    client.force_login(user)

    deep = Identity.objects.order_by("name", "id").values_list("name", "id")[
        int(args.rows * 0.9)]
    cols = "i.*"
    page_sql = (f"SELECT {cols} FROM inventory_identity i ORDER BY i.name, i.id LIMIT 51")
    # The baseline uses PostgreSQL's row comparison, the best plain SQL for this page.
    deep_sql = (f"SELECT {cols} FROM inventory_identity i WHERE (i.name, i.id) > (%s, %s) "
                f"ORDER BY i.name, i.id LIMIT 51")
    cases = {
        "page_first": ("/identities/", raw_sql(page_sql, [])),
        "page_deep_90pct": (f"/identities/?after={_encode(deep[0], deep[1])}",
                            raw_sql(deep_sql, [deep[0], deep[1]])),
        "page_filtered_zone_storage_by_last_used": (
            "/identities/?zone=storage&privilege=admin&sort=-last_used_at", None),
        "page_search_owner_email": ("/identities/?q=owner1999%40bench", None),
        "page_search_common_word": ("/identities/?q=train", None),
        "page_no_owner_expiring_30d": ("/identities/?has_owner=false&expires_within=30", None),
        "api_first": ("/api/v1/identities/?page_size=50", raw_sql(page_sql, [])),
        "api_deep_90pct": (
            f"/api/v1/identities/?page_size=50&cursor={api_cursor(_encode(deep[0], deep[1]))}",
            raw_sql(deep_sql, [deep[0], deep[1]])),
    }
    results = {}
    for name, (url, baseline) in cases.items():
        entry = {"url": url, "portal": timed(get_ok(client, url), args.repeat)}
        if baseline:
            entry["raw_sql_same_page"] = timed(baseline, args.repeat)
        results[name] = entry
    first, deep_page = results["page_first"]["portal"], results["page_deep_90pct"]["portal"]
    api_first, api_deep = results["api_first"]["portal"], results["api_deep_90pct"]["portal"]
    print(json.dumps({
        "rows": Identity.objects.count() if args.rows < 2_000_000 else args.rows,
        "load_seconds": round(load_seconds, 1),
        "repeat": args.repeat,
        "cases": results,
        "deep_over_first": {
            "page": round(deep_page["median_ms"] / first["median_ms"], 2),
            "api": round(api_deep["median_ms"] / api_first["median_ms"], 2),
        },
        "queries_per_page": {
            "page": queries_per_page(client, "/identities/", [10, 50, 200], None),
            "api": queries_per_page(client, "/api/v1/identities/", [10, 50, 200], "page_size"),
        },
    }, indent=2))


if __name__ == "__main__":
    main()
