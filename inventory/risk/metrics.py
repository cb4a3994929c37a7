"""The dashboard's numbers. Each is defined as a register query string, and counted with
the register's own filterset over that query, so the number and the register page it
links to always agree. Breakdowns (by zone, source, team) are one GROUP BY each, whose
groups use the same filters as their links.

Metrics cover active identities (disabled, missing and deprovisioned ones cannot act).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, Q, Subquery
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from inventory.choices import Zone
from inventory.filtersets import IdentityFilterSet
from inventory.models import Finding, Identity, IdentityRisk, Source
from inventory.models.risk import SEVERITY_ORDER, Classification, FindingStatus, Severity
from inventory.risk.filters import NO_ZONE
from inventory.risk.policy import Policy
from inventory.risk.registry import OWASP_TITLES
from ownership.models import Team

ACTIVE = [("status", "active")]


@dataclass
class Metric:
    key: str
    label: str
    query: list[tuple[str, str]]
    tone: str = ""  # "", "warn" or "bad": how the number is coloured
    hint: str = ""
    count: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return register_url(self.query)


def register_url(query: list[tuple[str, str]]) -> str:
    return reverse("inventory:identity_list") + "?" + urlencode(query)


def count(query: list[tuple[str, str]]) -> int:
    """How many identities the register shows for `query` (same filterset, no cap)."""
    data = QueryDict(mutable=True)
    for key, value in query:
        data.appendlist(key, value)
    fs = IdentityFilterSet(data, queryset=Identity.objects.all())
    if not fs.is_valid():
        raise ValueError(f"invalid metric query {query}: {fs.errors}")
    return fs.qs.order_by().count()


def headline(policy: Policy) -> list[Metric]:
    """Seed 003's baseline, then dormancy, expiry, classification and open findings."""
    dormant = policy.defaults["dormant_days"]
    metrics = [
        Metric("total", "Machine identities", ACTIVE, hint="active in the register"),
        Metric("unknown", "No owner or purpose", ACTIVE + [
            ("rule", "ownership.no_owner"), ("rule", "ownership.no_purpose")], "bad"),
        Metric("not_rotated", "Not rotated in 90+ days", ACTIVE + [("not_rotated_days", "90")],
               "warn", hint="hold a static secret"),
        Metric("interactive", "Interactive login", ACTIVE + [("interactive_login", "true")],
               "bad"),
        Metric("dormant", "Dormant", ACTIVE + [("rule", "dormancy.dormant")], "warn",
               hint=f"unused {dormant}+ days"),
        Metric("expiring", "Expiring within 30 days", ACTIVE + [("expiring_within", "30")],
               "warn"),
        Metric("expired", "Expired, still active", ACTIVE + [
            ("rule", "certs.expired"), ("rule", "lifecycle.expired_active")], "bad"),
        Metric("high_risk", "High-risk", ACTIVE + [("classification", "high_risk")], "bad",
               hint="admin or broad scope"),
        Metric("open_findings", "With open findings", ACTIVE + [("finding_status", "open")]),
    ]
    for metric in metrics:
        metric.count = count(metric.query)
    return metrics


def classification() -> list[Metric]:
    metrics = [Metric(c.value, c.label, ACTIVE + [("classification", c.value)])
               for c in Classification]
    counts = dict(IdentityRisk.objects.filter(identity__status="active")
                  .values_list("classification").annotate(n=Count("identity_id")))
    for metric in metrics:
        metric.count = counts.get(metric.key, 0)
    return metrics


def findings_by(field_name: str, keys: list[tuple[str, str]], param: str) -> list[Metric]:
    """Open findings grouped by severity or OWASP id: identities (linked to the register)
    and findings (linked to the findings page)."""
    open_active = Finding.objects.filter(status=FindingStatus.OPEN, identity__status="active")
    identities = dict(open_active.values_list(field_name).annotate(
        n=Count("identity_id", distinct=True)))
    findings = dict(open_active.values_list(field_name).annotate(n=Count("id")))
    metrics = []
    for key, label in keys:
        metric = Metric(key, label, ACTIVE + [("finding_status", "open"), (param, key)],
                        tone="bad" if key in ("critical", "high") else "")
        metric.count = identities.get(key, 0)
        metric.extra = {"findings": findings.get(key, 0),
                        "findings_url": reverse("risk:finding_list") + "?" + urlencode(
                            [("status", "open"), (field_name, key)])}
        metrics.append(metric)
    return metrics


def by_severity() -> list[Metric]:
    return findings_by("severity", [(s.value, s.label) for s in SEVERITY_ORDER],
                       "finding_severity")


def by_owasp() -> list[Metric]:
    return findings_by("owasp", list(OWASP_TITLES.items()), "owasp")


def _grouped(group: str, keyed: dict) -> list[dict]:
    """Per group: active identities, those with open findings, the high-risk ones."""
    open_ids = Finding.objects.filter(status=FindingStatus.OPEN).values("identity_id")
    rows = (Identity.objects.filter(status="active").values(group).annotate(
        total=Count("id"), open=Count("id", filter=Q(id__in=Subquery(open_ids))),
        high=Count("id", filter=Q(risk__classification=Classification.HIGH_RISK)))
        .order_by("-total"))
    out = []
    for row in rows:
        key = row[group]
        label, query = keyed.get(key, (None, None))
        if query is None:
            continue
        out.append({"label": label, "total": row["total"], "open": row["open"],
                    "high": row["high"], "url": register_url(ACTIVE + query),
                    "open_url": register_url(ACTIVE + query + [("finding_status", "open")]),
                    "high_url": register_url(ACTIVE + query + [
                        ("classification", "high_risk")])})
    return out


def by_zone() -> list[dict]:
    keyed = {z.value: (z.label, [("home_zone", z.value)]) for z in Zone}
    keyed[""] = ("No zone", [("home_zone", NO_ZONE)])
    return _grouped("risk__home_zone", keyed)


def by_source() -> list[dict]:
    keyed = {s.pk: (s.name, [("source", str(s.code))]) for s in Source.objects.all()}
    return _grouped("source_id", keyed)


def by_team(limit: int = 12) -> list[dict]:
    keyed = {t.pk: (t.name, [("team", str(t.code))]) for t in Team.objects.all()}
    keyed[None] = ("No team", [("has_team", "false")])
    return _grouped("team_id", keyed)[:limit]


def snapshot_metrics(policy: Policy) -> dict:
    """What a DailySnapshot keeps: headline counts, classes, open findings by severity."""
    findings = dict(Finding.objects.filter(status=FindingStatus.OPEN,
                                           identity__status="active")
                    .values_list("severity").annotate(n=Count("id")))
    return {
        "headline": {m.key: m.count for m in headline(policy)},
        "classification": {m.key: m.count for m in classification()},
        "open_findings": {s.value: findings.get(s.value, 0) for s in Severity},
        "at": timezone.now().isoformat(),
    }
