"""The analysts' landing page: seed 003's baseline, dormancy, expiry, findings by severity
and OWASP id, breakdowns by zone, source and team, and trends from daily snapshots.

Numbers come from inventory.risk.metrics, each with the register link that shows exactly
those identities; charts are drawn by static/nhigov/dashboard.js from `json_script` data.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import TemplateView

from inventory.models import RiskRun
from inventory.risk import metrics
from inventory.risk import policy as policies
from inventory.risk.snapshots import trend
from inventory.views.mixins import ReadAllMixin
from nhigov.lib.roles import sees_everything

TREND_DAYS = 90
TREND_SERIES = [("total", "Machine identities"), ("unknown", "No owner or purpose"),
                ("not_rotated", "Not rotated 90+ days"), ("dormant", "Dormant"),
                ("high_risk", "High-risk"), ("interactive", "Interactive login")]
SEVERITY_COLOURS = {"critical": "#b42318", "high": "#e8590c", "medium": "#f0a000",
                    "low": "#8a94a6"}
CLASS_COLOURS = {"active": "#1f7a4d", "dormant": "#a15c00", "unknown": "#667085",
                 "high_risk": "#b42318"}


def home(request: HttpRequest) -> HttpResponseRedirect:
    """`/` and the page after sign-in: analysts, admins and auditors land on the dashboard;
    owners (and anyone else) on the register, which shows them only their identities."""
    if sees_everything(request.user):
        return redirect("risk:dashboard")
    return redirect("inventory:identity_list")


class DashboardView(ReadAllMixin, TemplateView):
    template_name = "risk/dashboard.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        policy = policies.current()
        headline = metrics.headline(policy)
        classes = metrics.classification()
        severity, owasp = metrics.by_severity(), metrics.by_owasp()
        context.update(
            headline=headline, classes=classes, severity=severity, owasp=owasp,
            zones=metrics.by_zone(), sources=metrics.by_source(), teams=metrics.by_team(),
            last_run=RiskRun.objects.filter(error="").order_by("-started_at").first(),
            policy=policy,
            charts=_charts(headline, classes, severity, owasp),
        )
        return context


def _bars(items: list[metrics.Metric], colours: dict | None = None) -> dict:
    return {"labels": [m.label for m in items], "values": [m.count for m in items],
            "urls": [m.url for m in items],
            "colours": [(colours or {}).get(m.key, "#3b5bdb") for m in items]}


def _charts(headline, classes, severity, owasp) -> dict:
    return {
        "classification": _bars(classes, CLASS_COLOURS),
        "severity": _bars(severity, SEVERITY_COLOURS),
        "owasp": {**_bars(owasp), "labels": [m.key for m in owasp],
                  "titles": [f"{m.key} {m.label}" for m in owasp]},
        "trend": _trend(headline, severity),
    }


def _trend(headline: list[metrics.Metric], severity: list[metrics.Metric]) -> dict:
    """Daily snapshots plus today's live numbers (so the chart starts on day one)."""
    points = [(s.day.isoformat(), s.metrics.get("headline", {}),
               s.metrics.get("open_findings", {})) for s in trend(TREND_DAYS)]
    today = timezone.localdate().isoformat()
    points = [p for p in points if p[0] != today]
    live_findings = {m.key: m.extra.get("findings", 0) for m in severity}
    points.append((today, {m.key: m.count for m in headline}, live_findings))
    return {
        "labels": [p[0] for p in points],
        "series": [{"label": label, "values": [p[1].get(key, 0) for p in points]}
                   for key, label in TREND_SERIES],
        "findings": [{"label": sev.title(), "colour": colour,
                      "values": [p[2].get(sev, 0) for p in points]}
                     for sev, colour in SEVERITY_COLOURS.items()],
    }
