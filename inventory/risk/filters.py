"""Register filters over the risk verdicts, mixed into inventory.filtersets.IdentityFilterSet.

All of them filter with `id IN (subquery)` on an indexed column of the findings or verdict
table (a semi-join: no row can come back twice, so no DISTINCT).

* `rule`, `finding_status`, `finding_severity`, `owasp` together select identities with
  one finding matching all of them; without `finding_status`, findings that currently
  hold (open or accepted).
* `classification`, `home_zone`: the verdict of the last evaluation.
* `dormant_days`, `expiring_within`, `not_rotated_days`, `has_team`: plain columns.
"""

from __future__ import annotations

from datetime import timedelta

import django_filters as filters
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.choices import Zone
from inventory.models import Credential, Finding, IdentityRisk
from inventory.models.risk import Classification, FindingStatus, Severity
from inventory.risk.facts import STATIC_KINDS
from inventory.risk.registry import owasp_choices, rule_choices

FINDING_FILTERS = ("rule", "finding_status", "finding_severity", "owasp")
CURRENT = [FindingStatus.OPEN, FindingStatus.ACCEPTED]
NO_ZONE = "none"


def _many(choices, label: str, method: str) -> filters.MultipleChoiceFilter:
    return filters.MultipleChoiceFilter(choices=choices, label=label, method=method,
                                        distinct=False)


def _days(label: str, method: str) -> filters.NumberFilter:
    return filters.NumberFilter(label=label, method=method, min_value=0, max_value=36500)


class RiskFilters(filters.FilterSet):
    rule = _many(rule_choices(), "Finding rule", "filter_findings")
    finding_status = _many(FindingStatus.choices, "Finding status", "filter_findings")
    finding_severity = _many(Severity.choices, "Finding severity", "filter_findings")
    owasp = _many(owasp_choices(), "OWASP NHI", "filter_findings")
    classification = _many(Classification.choices, "Classification", "filter_classification")
    home_zone = _many(Zone.choices + [(NO_ZONE, "No zone")], "Home zone", "filter_home_zone")
    dormant_days = _days("Unused for (days)", "filter_dormant_days")
    expiring_within = _days("Expiring within (days)", "filter_expiring_within")
    not_rotated_days = _days("Not rotated for (days)", "filter_not_rotated_days")
    has_team = filters.BooleanFilter(method="filter_has_team", label="Has team")

    def filter_findings(self, queryset, name, value):
        data = self.form.cleaned_data
        # The first finding filter given applies all four as one subquery.
        if name != next(n for n in FINDING_FILTERS if data.get(n)):
            return queryset
        found = Finding.objects.filter(status__in=data.get("finding_status") or CURRENT)
        for key, field in (("rule", "rule"), ("finding_severity", "severity"),
                           ("owasp", "owasp")):
            if data.get(key):
                found = found.filter(**{f"{field}__in": data[key]})
        return queryset.filter(id__in=Subquery(found.values("identity_id")))

    def filter_classification(self, queryset, name, value):
        verdicts = IdentityRisk.objects.filter(classification__in=value)
        return queryset.filter(id__in=Subquery(verdicts.values("identity_id")))

    def filter_home_zone(self, queryset, name, value):
        zones = ["" if v == NO_ZONE else v for v in value]
        verdicts = IdentityRisk.objects.filter(home_zone__in=zones)
        return queryset.filter(id__in=Subquery(verdicts.values("identity_id")))

    def filter_dormant_days(self, queryset, name, value):
        if value is None:
            return queryset
        # Never used counts from when the identity was created (or first seen).
        cut = timezone.now() - timedelta(days=int(value))
        return queryset.filter(
            Q(last_used_at__lt=cut)
            | Q(last_used_at__isnull=True, created_at_source__lt=cut)
            | Q(last_used_at__isnull=True, created_at_source__isnull=True, first_seen_at__lt=cut))

    def filter_expiring_within(self, queryset, name, value):
        if value is None:
            return queryset
        now = timezone.now()  # not yet expired, unlike `expires_within`
        return queryset.filter(expires_at__gte=now,
                               expires_at__lt=now + timedelta(days=int(value)))

    def filter_not_rotated_days(self, queryset, name, value):
        """Holds a static secret not rotated for `value` days: an active static credential
        that old, or (with no credential recorded) static auth last rotated that long ago."""
        if value is None:
            return queryset
        cut = timezone.now() - timedelta(days=int(value))
        static = Credential.objects.filter(status="active", kind__in=STATIC_KINDS)
        old = static.filter(Q(created_at_source__lt=cut)
                            | Q(created_at_source__isnull=True, first_seen_at__lt=cut))
        rotated = Coalesce("last_rotated_at", "created_at_source", "first_seen_at")
        bare = queryset.model.objects.annotate(rotated=rotated).filter(
            auth_method="static_secret", rotated__lt=cut).exclude(
            Exists(static.filter(identity_id=OuterRef("pk"))))
        # One IN over a UNION: `IN (a) OR IN (b)` cannot be planned as a semi-join, and
        # PostgreSQL would probe an unhashed subplan per row.
        either = old.order_by().values_list("identity_id").union(
            bare.order_by().values_list("id"), all=True)
        return queryset.exclude(kind="certificate").filter(id__in=either)

    def filter_has_team(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(team__isnull=not value)
