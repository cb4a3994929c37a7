"""Template tags for risk, registered as the `risk_tags` library (settings, "# Risk"), so
the identity page shows its findings through one include without touching its view."""

from __future__ import annotations

from django import template

from inventory.models import Finding, IdentityRisk, RiskRun
from inventory.models.risk import SEVERITY_ORDER, FindingStatus
from inventory.risk.facts import ZONE_BITS
from inventory.risk.forms import AcceptForm
from inventory.risk.registry import all_rules

register = template.Library()
_RANK = {s.value: n for n, s in enumerate(SEVERITY_ORDER)}


@register.simple_tag
def identity_risk(identity) -> dict:
    """The identity's verdict and findings: current ones (most severe first), then
    resolved ones."""
    rules = {r.code: r for r in all_rules()}
    findings = list(Finding.objects.filter(identity=identity).select_related(
        "accepted_by", "resolved_by"))
    current = sorted((f for f in findings if f.status != FindingStatus.RESOLVED),
                     key=lambda f: (_RANK.get(f.severity, 9), f.rule))
    resolved = sorted((f for f in findings if f.status == FindingStatus.RESOLVED),
                      key=lambda f: f.resolved_at, reverse=True)
    verdict = IdentityRisk.objects.filter(identity=identity).first()
    reach = [z for z, bit in ZONE_BITS.items() if verdict and verdict.reach & bit]
    return {
        "verdict": verdict, "reach": reach,
        "current": [(f, rules.get(f.rule)) for f in current],
        "resolved": [(f, rules.get(f.rule)) for f in resolved],
        "last_run": RiskRun.objects.filter(error="").order_by("-started_at").first(),
        "accept_form": AcceptForm(),
    }


@register.filter
def severity_class(severity: str) -> str:
    return {"critical": "bad", "high": "bad", "medium": "warn", "low": "unknown"}.get(
        severity, "unknown")


@register.filter
def get_item(mapping: dict, key):
    return (mapping or {}).get(key)
