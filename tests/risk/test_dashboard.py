"""The dashboard: each number equals a count computed independently here (plain Python over
the rows), and its link opens the register showing exactly that many identities."""

import random
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.utils import timezone

from inventory.models import Credential, DailySnapshot, Finding, Identity
from inventory.risk.engine import evaluate_all
from inventory.risk.registry import get_rule
from inventory.risk.snapshots import take_snapshot
from tests.factories import CredentialFactory, PersonFactory, SourceFactory, TeamFactory
from tests.risk.cases import clean_identity, days

pytestmark = pytest.mark.django_db
STATIC = {"access_key", "api_key", "secret_id", "token_secret", "client_secret", "ssh_key"}


@pytest.fixture
def register(users):
    rng = random.Random(11)
    teams = [TeamFactory(), TeamFactory()]
    sources = [SourceFactory(name="aws-prod"), SourceFactory(name="vault", kind="vault")]
    for n in range(60):
        identity = clean_identity(
            name=f"svc-{n}", source=rng.choice(sources), team=rng.choice(teams + [None]),
            technical_owner=rng.choice([PersonFactory(), None]), business_owner=None,
            purpose=rng.choice(["", "batch"]), privilege=rng.choice(["read", "write", "admin"]),
            interactive_login=rng.random() < 0.2, zone=rng.choice(["", "compute", "storage"]),
            last_used_at=rng.choice([None, days(-5), days(-100), days(-300)]),
            created_at_source=days(-rng.randint(10, 400)),
            auth_method=rng.choice(["static_secret", "short_lived_token"]),
            expires_at=rng.choice([None, None, days(-3), days(10), days(45)]),
            status=rng.choice(["active"] * 9 + ["disabled"]))
        if rng.random() < 0.4:
            CredentialFactory(identity=identity, kind=rng.choice(["access_key", "token"]),
                              created_at_source=days(-rng.randint(1, 200)))
    evaluate_all("test")
    return {"teams": teams, "sources": sources}


def expected(now) -> dict:
    """The dashboard's definitions, recomputed from the rows without the filterset."""
    active = list(Identity.objects.filter(status="active").prefetch_related("credentials"))
    cut90 = now - timedelta(days=90)

    def not_rotated(i) -> bool:
        static = [c for c in i.credentials.all() if c.status == "active" and c.kind in STATIC]
        if i.kind == "certificate":
            return False
        if static:
            return any((c.created_at_source or c.first_seen_at) < cut90 for c in static)
        rotated = i.last_rotated_at or i.created_at_source or i.first_seen_at
        return i.auth_method == "static_secret" and rotated < cut90

    def dormant(i) -> bool:
        if i.kind == "certificate":
            return False
        if i.last_used_at:
            return i.last_used_at < cut90
        return i.provider == "aws" and (i.created_at_source or i.first_seen_at) < cut90

    high_rules = {c for c in Finding.objects.values_list("rule", flat=True).distinct()
                  if get_rule(c).high_risk or get_rule(c).severity == "critical"}
    flagged = set(Finding.objects.filter(status__in=["open", "accepted"], rule__in=high_rules)
                  .values_list("identity_id", flat=True))
    open_ids = set(Finding.objects.filter(status="open").values_list("identity_id", flat=True))
    return {
        "total": len(active),
        "unknown": sum(1 for i in active if not i.purpose.strip()
                       or not (i.technical_owner_id or i.business_owner_id)),
        "not_rotated": sum(1 for i in active if not_rotated(i)),
        "interactive": sum(1 for i in active if i.interactive_login),
        "dormant": sum(1 for i in active if dormant(i)),
        "expiring": sum(1 for i in active if i.expires_at and now <= i.expires_at
                        < now + timedelta(days=30)),
        "expired": sum(1 for i in active if i.expires_at and i.expires_at < now),
        "high_risk": sum(1 for i in active if i.privilege == "admin" or i.pk in flagged),
        "open_findings": sum(1 for i in active if i.pk in open_ids),
    }


def register_count(client, url: str) -> int:
    parsed = urlparse(url)
    assert parsed.path == "/identities/"
    response = client.get(f"{parsed.path}?{parsed.query}")
    assert response.status_code == 200
    assert response.context["count_exact"]
    return response.context["count"]


def test_headline_numbers_equal_independent_counts_and_their_links(client_for, register):
    client = client_for("analyst")
    response = client.get("/dashboard/")
    assert response.status_code == 200
    headline = {m.key: m for m in response.context["headline"]}
    want = expected(timezone.now())
    assert {k: m.count for k, m in headline.items()} == want
    assert all(want[k] > 0 for k in ("unknown", "not_rotated", "interactive", "dormant",
                                     "expired", "high_risk"))
    for metric in headline.values():
        assert register_count(client, metric.url) == metric.count, metric.key
        assert f'href="{metric.url.replace("&", "&amp;")}"' in response.content.decode()


def test_breakdowns_and_findings_numbers_match_their_links(client_for, register):
    client = client_for("analyst")
    context = client.get("/dashboard/").context
    open_findings = Finding.objects.filter(status="open", identity__status="active")
    for metric in context["severity"]:
        mine = open_findings.filter(severity=metric.key)
        assert metric.count == mine.values("identity_id").distinct().count()
        assert metric.extra["findings"] == mine.count()
        assert register_count(client, metric.url) == metric.count
    for metric in context["owasp"]:
        assert register_count(client, metric.url) == metric.count
    for metric in context["classes"]:
        assert register_count(client, metric.url) == metric.count
    assert sum(m.count for m in context["classes"]) == Identity.objects.filter(
        status="active").count()
    for rows in (context["zones"], context["sources"], context["teams"]):
        assert sum(r["total"] for r in rows) == Identity.objects.filter(status="active").count()
        for row in rows:
            for key, url in (("total", "url"), ("open", "open_url"), ("high", "high_url")):
                assert register_count(client, row[url]) == row[key], (row["label"], key)
    team = register["teams"][0]
    row = next(r for r in context["teams"] if r["label"] == team.name)
    assert row["total"] == Identity.objects.filter(status="active", team=team).count()


def test_trends_come_from_daily_snapshots_plus_today(client_for, register):
    yesterday = timezone.localdate() - timedelta(days=1)
    DailySnapshot.objects.create(day=yesterday, taken_at=timezone.now(), metrics={
        "headline": {"total": 3, "dormant": 1}, "open_findings": {"high": 4}})
    take_snapshot()
    trend = client_for("auditor").get("/dashboard/").context["charts"]["trend"]
    assert trend["labels"] == [yesterday.isoformat(), timezone.localdate().isoformat()]
    series = {s["label"]: s["values"] for s in trend["series"]}
    assert series["Machine identities"][0] == 3
    assert series["Machine identities"][1] == Identity.objects.filter(status="active").count()


def test_the_dashboard_is_for_analysts_auditors_and_admins(client_for, register):
    assert client_for("owner").get("/dashboard/").status_code == 403
    assert client_for("auditor").get("/dashboard/").status_code == 200


def test_register_filters_for_rules_and_days(client_for, register):
    client = client_for("analyst")
    no_purpose = Identity.objects.filter(status="active", purpose="").count()
    assert register_count(client, "/identities/?status=active&rule=ownership.no_purpose") == \
        no_purpose
    unused = Identity.objects.filter(last_used_at__lt=timezone.now() - timedelta(days=200))
    never = Identity.objects.filter(last_used_at__isnull=True,
                                    created_at_source__lt=timezone.now() - timedelta(days=200))
    assert register_count(client, "/identities/?dormant_days=200") == unused.count() + \
        never.count()
    Credential.objects.all().delete()
    assert register_count(client, "/identities/?has_team=false") == Identity.objects.filter(
        team__isnull=True).count()
