"""Opening a review campaign at scale vs. a raw COPY of the same task rows.

Usage: DATABASE_URL=postgresql://postgres@127.0.0.1/nhigov_campbench \\
       .venv/bin/python bench/campaign_bench.py --identities 500000 --rounds 3

Fills the register with synthetic identities through COPY (once), then, for each round:
opens a campaign over all of them (reviews.campaigns.open_campaign: one INSERT ... SELECT
for the tasks and their snapshots, counts, one INSERT ... SELECT for the invitations) and,
side by side, COPYs exactly the rows that campaign created (dumped beforehand, so the
baseline pays no Python row building) into an empty table created LIKE reviews_attestation
INCLUDING ALL (same columns, defaults and indexes). Finally it sends a sample of owner
emails through Django's locmem backend to show sending is batched per owner.
Prints one JSON document. Never part of the test suite; it fills the database it is given.
"""

from __future__ import annotations

import argparse
import io
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
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from inventory.models import Environment, Identity, Source  # noqa: E402
from nhigov.lib.audit import Actor  # noqa: E402
from ownership.models import Person, Team  # noqa: E402
from reviews import mailing  # noqa: E402
from reviews.campaigns import open_campaign  # noqa: E402
from reviews.models import Attestation, Delivery  # noqa: E402

KINDS = ["iam_user", "cloud_role", "k8s_service_account", "vault_approle", "api_key"]
ZONES = ["access", "management", "compute", "storage"]
PRIVS = ["read", "read", "write", "admin", "unknown"]
TASK_COLUMNS = ["code", "campaign_id", "identity_id", "role", "reviewer_id", "team_id",
                "status", "decision", "answers", "comment", "snapshot", "created_at",
                "decided_at", "decided_by", "reassigned_from_id"]


def ensure_identities(total: int, owners: int) -> float:
    """Fill inventory_identity up to `total` active rows with COPY; returns seconds."""
    have = Identity.objects.count()
    if have >= total:
        return 0.0
    start = time.perf_counter()
    source, _ = Source.objects.get_or_create(name="bench", defaults={"kind": "aws"})
    envs = [Environment.objects.get_or_create(slug=s, defaults={"name": s.title()})[0].pk
            for s in ("production", "staging", "development")]
    teams = [Team.objects.get_or_create(slug=f"bench-{i}", defaults={"name": f"Bench {i}"})[0].pk
             for i in range(60)]
    Person.objects.bulk_create(
        [Person(email=f"owner{i}@bench.test", name=f"Owner {i}", team_id=teams[i % 60],
                is_active=i % 50 != 0) for i in range(owners)], ignore_conflicts=True)
    people = list(Person.objects.filter(email__endswith="@bench.test").values_list("pk",
                                                                                   flat=True))
    rng, now = random.Random(11), datetime.now(UTC)
    cols = ["code", "source_id", "external_id", "provider", "kind", "name", "path",
            "environment_id", "zone", "purpose", "workload", "change_ticket",
            "technical_owner_id", "business_owner_id", "team_id", "privilege",
            "permissions_summary", "interactive_login", "auth_method", "last_used_at",
            "expires_at", "status", "first_seen_at", "tags", "attributes", "owner_hints",
            "data_hash", "risk_score", "updated_at"]
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY inventory_identity ({', '.join(cols)}) FROM STDIN") as copy:
        for n in range(have, total):
            tech = rng.choice(people) if rng.random() > 0.1 else None
            business = rng.choice(people) if tech and rng.random() > 0.4 else None
            copy.write_row((
                uuid.uuid4(), source.pk, f"bench/{n}", "aws", rng.choice(KINDS),
                f"svc-{n:07d}", f"/bench/{n % 997}/", rng.choice(envs), rng.choice(ZONES),
                f"Purpose of svc-{n:07d}", "", "", tech, business, rng.choice(teams),
                rng.choice(PRIVS), "s3:GetObject on bench-*", False, "static_secret",
                now - timedelta(days=rng.randint(0, 400)), None, "active", now, "[]", "{}",
                "{}", "", 0, now,
            ))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE inventory_identity")
    return time.perf_counter() - start


def reset_reviews() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE reviews_reviewlink, reviews_remediation, reviews_delivery, "
                       "reviews_attestation, reviews_campaign RESTART IDENTITY CASCADE")


def open_round(identities: int) -> dict:
    reset_reviews()
    due = (datetime.now(UTC) + timedelta(days=21)).date()
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        campaign = open_campaign(name="bench", scope="", due_date=due,
                                 actor=Actor.system("bench"), send=False)
        seconds = time.perf_counter() - start
    assert campaign.identity_count == identities, campaign.identity_count
    return {"seconds": seconds, "queries": len(queries), "campaign": campaign,
            "tasks": campaign.task_count + campaign.triage_count,
            "owners": Delivery.objects.filter(campaign=campaign).count()}


def dump_rows(campaign_id: int) -> bytes:
    """The rows the campaign created, in COPY text format (the baseline's input)."""
    buffer = io.BytesIO()
    sql = (f"COPY (SELECT {', '.join(TASK_COLUMNS)} FROM reviews_attestation "  # noqa: S608
           f"WHERE campaign_id = {int(campaign_id)}) TO STDOUT")
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for block in copy:
            buffer.write(block)
    return buffer.getvalue()


def copy_round(data: bytes) -> float:
    """COPY `data` into a fresh table LIKE reviews_attestation (same indexes)."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_attestation_copy")
        cursor.execute("CREATE TABLE bench_attestation_copy "
                       "(LIKE reviews_attestation INCLUDING ALL)")
    start = time.perf_counter()
    sql = f"COPY bench_attestation_copy ({', '.join(TASK_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        view = memoryview(data)
        for offset in range(0, len(data), 1 << 20):
            copy.write(view[offset:offset + (1 << 20)])
    return time.perf_counter() - start


def send_sample(campaign, owners: int) -> dict:
    """Send the invitations of `owners` owners (locmem backend) to time sending per owner."""
    from django.core import mail

    mail.outbox = []
    ids = list(Delivery.objects.filter(campaign=campaign).order_by("id")
               .values_list("id", flat=True)[owners:])
    Delivery.objects.filter(pk__in=ids).update(status=Delivery.Status.SKIPPED)
    start = time.perf_counter()
    summary = mailing.send_due(campaign_id=campaign.pk, limit=owners)
    seconds = time.perf_counter() - start
    listed = Attestation.objects.filter(
        campaign=campaign, reviewer__in=Delivery.objects.filter(
            campaign=campaign, status=Delivery.Status.SENT).values("person")).count()
    return {"owners_emailed": summary["sent"], "identities_listed": listed,
            "messages": len(mail.outbox), "seconds": round(seconds, 2),
            "ms_per_owner": round(1000 * seconds / max(summary["sent"], 1), 1),
            "celery_tasks": 1}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--identities", type=int, default=500_000)
    parser.add_argument("--owners", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--send-sample", type=int, default=200)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL: DATABASE_URL=postgresql://.../nhigov_campbench")
    call_command("migrate", verbosity=0)
    fill = ensure_identities(args.identities, args.owners)
    opens, copies, last = [], [], None
    for _ in range(args.rounds):
        last = open_round(args.identities)
        opens.append(last["seconds"])
        data = dump_rows(last["campaign"].pk)
        copies.append(copy_round(data))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_attestation_copy")
    sample = send_sample(last["campaign"], args.send_sample)
    open_s, copy_s = statistics.median(opens), statistics.median(copies)
    print(json.dumps({
        "identities": args.identities, "fill_seconds": round(fill, 1),
        "task_rows": last["tasks"], "owners_invited": last["owners"],
        "campaign_open": {"median_s": round(open_s, 2), "runs_s": [round(s, 2) for s in opens],
                          "queries": last["queries"]},
        "raw_copy_same_rows": {"median_s": round(copy_s, 2),
                               "runs_s": [round(s, 2) for s in copies],
                               "bytes": len(data)},
        "ratio_open_to_copy": round(open_s / copy_s, 2),
        "target_ratio": 1.5,
        "send_sample": sample,
        "postgres": connection.cursor().connection.info.server_version,
    }, indent=2))


if __name__ == "__main__":
    main()
