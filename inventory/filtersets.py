"""One filterset for the register, shared by the page, the CSV download and the API."""

from datetime import UTC, datetime, time, timedelta

import django_filters as filters
from django import forms
from django.db.models import Q, Subquery
from django.utils import timezone

from inventory.choices import AuthMethod, IdentityKind, IdentityStatus, Privilege, Provider, Zone
from inventory.models import ChangeKind, Environment, Identity, Source, SyncChange, SyncRun
from inventory.risk.filters import RiskFilters
from ownership.models import Person, Team

# Columns the register may be sorted by; each has a (column, id) index.
SORT_FIELDS = [
    "name", "kind", "provider", "zone", "privilege", "status", "last_used_at",
    "last_rotated_at", "expires_at", "first_seen_at", "created_at_source", "risk_score",
]


OWNER_SEARCH_LIMIT = 500


def _choice(choices, label: str) -> filters.MultipleChoiceFilter:
    # No DISTINCT: these filter columns of the identity row itself.
    return filters.MultipleChoiceFilter(choices=choices.choices, label=label, distinct=False)


class _ByNaturalKey(filters.ModelMultipleChoiceFilter):
    """Chosen by code or slug in the URL; filters on the object itself, not on its key.
    Forward foreign keys cannot duplicate rows, so no DISTINCT (costly at a million rows)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)

    def get_filter_predicate(self, v) -> dict:
        return {self.field_name: v}


class _RegisterFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        if data.get("change") and not data.get("run"):
            self.add_error("change", "Choose a sync run to filter by what it changed.")
        return data


# The risk filters (rule, finding status/severity, OWASP id, classification, home zone,
# dormant/expiring/not-rotated days, has team) are declared in inventory.risk.filters.
class IdentityFilterSet(RiskFilters, filters.FilterSet):
    q = filters.CharFilter(method="search", label="Search")
    kind = _choice(IdentityKind, "Kind")
    provider = _choice(Provider, "Provider")
    source = _ByNaturalKey(queryset=Source.objects.all(), to_field_name="code", label="Source")
    environment = _ByNaturalKey(
        queryset=Environment.objects.all(), to_field_name="slug", label="Environment"
    )
    zone = _choice(Zone, "Zone")
    status = _choice(IdentityStatus, "Status")
    privilege = _choice(Privilege, "Privilege")
    auth_method = _choice(AuthMethod, "Auth method")
    owner = filters.ModelChoiceFilter(
        queryset=Person.objects.all(), to_field_name="code", method="filter_owner", label="Owner"
    )
    team = _ByNaturalKey(queryset=Team.objects.all(), to_field_name="code", label="Team")
    has_owner = filters.BooleanFilter(method="filter_has_owner", label="Has owner")
    interactive_login = filters.BooleanFilter(label="Interactive login")
    expires_within = filters.NumberFilter(
        method="filter_expires_within", label="Expires within (days)", min_value=0,
        max_value=36500,  # a century; larger values overflow datetime arithmetic
    )
    last_used_before = filters.DateFilter(
        method="filter_last_used_before", label="Last used before"
    )
    # What one sync run did: ?run=<run code>[&change=created|updated|missing|returned].
    # A text input, not a select: runs accumulate, and a form must not list them all.
    run = filters.ModelChoiceFilter(
        queryset=SyncRun.objects.select_related("source"), to_field_name="code",
        method="filter_run", label="Sync run", widget=forms.TextInput,
    )
    change = filters.MultipleChoiceFilter(
        choices=ChangeKind.choices, method="filter_change", label="Change in run",
        distinct=False,
    )

    class Meta:
        model = Identity
        fields: list[str] = []
        form = _RegisterFilterForm

    def __init__(self, data=None, *args, **kwargs):
        # An empty parameter (?kind=) means "any", as the filter form's "Any" option sends.
        if data is not None:
            data = data.copy()
            for key in list(data.keys()):
                values = [v for v in data.getlist(key) if v.strip()]
                data.setlist(key, values) if values else data.pop(key)
        super().__init__(data, *args, **kwargs)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # Owners are matched in the small people table first and passed as a list of ids:
        # an OR with a join or a subquery makes PostgreSQL scan the whole identity table,
        # while a list lets it OR together the trigram and foreign-key indexes.
        matching = Person.objects.filter(Q(name__icontains=value) | Q(email__icontains=value))
        people = list(matching.values_list("id", flat=True)[: OWNER_SEARCH_LIMIT + 1])
        if len(people) > OWNER_SEARCH_LIMIT:
            people = matching.values("id")  # a term this broad matches most rows anyway
        return queryset.filter(
            Q(name__icontains=value)
            | Q(path__icontains=value)
            | Q(purpose__icontains=value)
            | Q(technical_owner__in=people)
            | Q(business_owner__in=people)
        )

    def filter_owner(self, queryset, name, person):
        if person is None:
            return queryset
        return queryset.filter(
            Q(technical_owner=person) | Q(business_owner=person) | Q(backup_owner=person)
        )

    def filter_has_owner(self, queryset, name, value):
        if value is None:
            return queryset
        no_owner = Q(technical_owner__isnull=True, business_owner__isnull=True)
        return queryset.exclude(no_owner) if value else queryset.filter(no_owner)

    def filter_expires_within(self, queryset, name, value):
        if value is None:
            return queryset
        # Already-expired identities are included: they are the most urgent of all.
        return queryset.filter(expires_at__lte=timezone.now() + timedelta(days=int(value)))

    def filter_last_used_before(self, queryset, name, value):
        if value is None:
            return queryset
        # Never used counts as "used before any date": dormant by definition.
        # Compare against midnight UTC so the (last_used_at, id) index stays usable.
        start = datetime.combine(value, time.min, tzinfo=UTC)
        return queryset.filter(Q(last_used_at__lt=start) | Q(last_used_at__isnull=True))

    def filter_run(self, queryset, name, value: SyncRun | None):
        if value is None:
            return queryset
        changes = SyncChange.objects.filter(run=value).order_by()  # an ORDER BY here costs a sort
        if kinds := self.form.cleaned_data.get("change"):
            changes = changes.filter(kind__in=kinds)
        # A semi-join on the (run, kind, identity) index; the IN cannot duplicate rows,
        # so no DISTINCT.
        return queryset.filter(id__in=Subquery(changes.values("identity_id")))

    def filter_change(self, queryset, name, kinds):
        return queryset  # applied by filter_run, which it narrows (the form requires a run)

    @property
    def is_filtered(self) -> bool:
        """True when any filter narrows the register (decides exact vs estimated counts)."""
        if not (self.form.is_bound and self.is_valid()):
            return False
        return any(_given(v) for v in self.form.cleaned_data.values())


def _given(value) -> bool:
    if value is None or value == "":
        return False
    return len(value) > 0 if hasattr(value, "__len__") else True
