"""Findings pages: the list with filters, and the analyst's decisions (accept with an
expiry and reason, resolve, reopen). Decisions live in inventory.risk.actions."""

from __future__ import annotations

import django_filters as filters
from django.contrib import messages
from django.db.models import Q, Subquery
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from inventory.models import Finding, Identity, RiskRun, Source
from inventory.models.risk import FindingStatus, Severity
from inventory.risk import actions
from inventory.risk.forms import AcceptForm, ReopenForm, ResolveForm
from inventory.risk.registry import OWASP_TITLES, all_rules, get_rule, owasp_choices, rule_choices
from inventory.views.mixins import EditorMixin, RoleRequiredMixin
from nhigov.lib.audit import Actor
from nhigov.lib.keyset import bounded_count, paginate
from nhigov.lib.roles import scope_identities, sees_everything
from ownership.models import Team

PAGE_SIZE = 50
# The triage queue: most severe first (each sort has a (status, column, id) index).
SORTS = {"severity_rank": "most severe first", "-opened_at": "newest first",
         "opened_at": "oldest first"}


def visible_findings(user):
    findings = Finding.objects.select_related(
        "identity", "identity__source", "identity__technical_owner", "identity__team",
        "accepted_by", "resolved_by")
    if sees_everything(user):
        return findings
    scoped = scope_identities(user, Identity.objects.all())
    return findings.filter(identity_id__in=Subquery(scoped.values("id")))


class FindingFilterSet(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=FindingStatus.choices, distinct=False)
    severity = filters.MultipleChoiceFilter(choices=Severity.choices, distinct=False)
    rule = filters.MultipleChoiceFilter(choices=rule_choices(), distinct=False)
    owasp = filters.MultipleChoiceFilter(choices=owasp_choices(), distinct=False,
                                         label="OWASP NHI")
    q = filters.CharFilter(method="search", label="Identity")
    source = filters.ModelChoiceFilter(queryset=Source.objects.all(), to_field_name="code",
                                       field_name="identity__source")
    team = filters.ModelChoiceFilter(queryset=Team.objects.all(), to_field_name="code",
                                     field_name="identity__team")
    identity = filters.UUIDFilter(field_name="identity__code")

    class Meta:
        model = Finding
        fields: list[str] = []

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(identity__name__icontains=value)
                               | Q(identity__path__icontains=value)) if value else queryset


def _status_default(request) -> dict:
    data = request.GET.copy()
    if "status" not in data:
        data.setlist("status", [FindingStatus.OPEN])  # the triage queue by default
    for key in list(data.keys()):
        values = [v for v in data.getlist(key) if v.strip()]
        data.setlist(key, values) if values else data.pop(key)
    return data


class FindingListView(RoleRequiredMixin, TemplateView):
    template_name = "risk/finding_list.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        data = _status_default(self.request)
        fs = FindingFilterSet(data, queryset=visible_findings(self.request.user))
        sort = self.request.GET.get("sort", "severity_rank")
        sort = sort if sort in SORTS else "severity_rank"
        qs = fs.qs if fs.is_valid() else fs.queryset.none()
        page = paginate(qs, sort, PAGE_SIZE, after=self.request.GET.get("after", ""),
                        before=self.request.GET.get("before", ""))
        count, exact = bounded_count(qs, 10000, True)
        rules = {r.code: r for r in all_rules()}
        context.update(
            filterset=fs, page=page, count=count, count_exact=exact, sort=sort, sorts=SORTS,
            rows=[(f, rules.get(f.rule)) for f in page.rows], data=data,
            statuses=FindingStatus.choices, severities=Severity.choices,
            rule_options=rule_choices(), owasp_options=owasp_choices(),
            selected={k: data.getlist(k) for k in ("status", "severity", "rule", "owasp")},
            accept_form=AcceptForm(),
            last_run=RiskRun.objects.filter(error="").order_by("-started_at").first(),
        )
        return context


class RuleListView(RoleRequiredMixin, TemplateView):
    """Every rule with its OWASP id, severity, framework references and remedy."""

    template_name = "risk/rule_list.html"

    def get_context_data(self, **kwargs) -> dict:
        from inventory.risk import policy as policies

        context = super().get_context_data(**kwargs)
        policy = policies.current()
        rules = all_rules()
        context["rules"] = [(r, policy.severity_of(r.code, r.severity),
                             r.code in policy.disabled) for r in rules]
        context["owasp"] = OWASP_TITLES
        return context


def _back(request, finding: Finding) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  request.is_secure()):
        return target
    return reverse("risk:finding_list")


class FindingActionView(EditorMixin, View):
    """POST accept / resolve / reopen for one finding (analysts and admins)."""

    action = ""
    forms = {"accept": AcceptForm, "resolve": ResolveForm, "reopen": ReopenForm}

    def post(self, request, code):
        finding = get_object_or_404(visible_findings(request.user), code=code)
        form = self.forms[self.action](request.POST)
        rule = get_rule(finding.rule)
        title = rule.title if rule else finding.rule
        if not form.is_valid():
            errors = "; ".join(f"{e}" for errs in form.errors.values() for e in errs)
            messages.error(request, f"{title}: {errors}")
            return HttpResponseRedirect(_back(request, finding))
        try:
            self.apply(finding, form.cleaned_data)
        except actions.ActionError as exc:
            messages.error(request, f"{title}: {exc}")
        else:
            messages.success(request, f"{title} on {finding.identity.name}: {self.done(finding)}.")
        return HttpResponseRedirect(_back(request, finding))

    def apply(self, finding: Finding, data: dict) -> None:
        actor = Actor.for_request(self.request)
        if self.action == "accept":
            actions.accept(finding, self.request.user, data["until"], data["reason"], actor)
        elif self.action == "resolve":
            actions.resolve(finding, self.request.user, data["why"], actor)
        else:
            actions.reopen(finding, actor, data["reason"])

    def done(self, finding: Finding) -> str:
        if self.action == "accept":
            return f"accepted until {finding.accepted_until:%Y-%m-%d}"
        if self.action == "resolve":
            return "resolved (the next evaluation reopens it if it still holds)"
        return "reopened"


class EvaluateNowView(EditorMixin, View):
    """Run a full evaluation now (set-based; seconds even on a large register)."""

    def post(self, request):
        from inventory.risk.engine import evaluate_all

        run = evaluate_all(f"requested by {request.user.get_username()}")
        messages.success(
            request, f"Evaluated {run.scope_size:,} identities: {run.opened:,} findings opened, "
                     f"{run.reopened:,} reopened, {run.resolved:,} resolved.")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = reverse("risk:dashboard")
        return HttpResponseRedirect(target)
