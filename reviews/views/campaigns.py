"""Campaign pages for analysts, auditors and admins: list, open, progress, tasks, triage,
resend, retry failed email, close. Thin: logic lives in reviews.campaigns/mailing/progress."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views import View
from django.views.generic import FormView, TemplateView

from inventory.views.mixins import EditorMixin, ReadAllMixin
from nhigov.lib.audit import Actor, Change, record
from ownership.models import Person
from reviews import campaigns as ops
from reviews import mailing, progress
from reviews.forms import CampaignForm
from reviews.models import Attestation, Campaign
from reviews.snapshot import Shown

A = Attestation
PAGE = 50


class CampaignListView(ReadAllMixin, TemplateView):
    template_name = "reviews/campaign_list.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        page = Paginator(Campaign.objects.all(), 25).get_page(self.request.GET.get("page"))
        counts = {r["campaign"]: r for r in Attestation.objects.filter(
            campaign__in=[c.pk for c in page]).values("campaign").annotate(
            open=Count("id", filter=Q(status__in=[A.Status.PENDING, A.Status.TRIAGE])),
            decided=Count("id", filter=Q(status=A.Status.DECIDED) & ~Q(decision="reassign")),
            counted=Count("id", filter=~Q(decision="reassign"))).order_by()}
        rows = []
        for c in page:
            row = counts.get(c.pk, {"open": 0, "decided": 0, "counted": 0})
            pct = round(100 * row["decided"] / row["counted"]) if row["counted"] else 100
            rows.append({"campaign": c, "open": row["open"], "pct": pct})
        context.update(page=page, rows=rows)
        return context


class CampaignCreateView(EditorMixin, FormView):
    template_name = "reviews/campaign_form.html"
    form_class = CampaignForm

    def get_initial(self) -> dict:
        initial = CampaignForm().initial.copy()
        if self.request.GET.get("scope"):
            initial["scope"] = self.request.GET["scope"]
        return initial

    def form_valid(self, form):
        data = form.cleaned_data
        campaign = ops.open_campaign(
            name=data["name"], scope=data["scope"], due_date=data["due_date"],
            actor=Actor.for_request(self.request), outcome_rule=data["outcome_rule"],
            reminder_days=data["reminder_days"],
        )
        messages.success(self.request, f"Opened “{campaign.name}”: {campaign.task_count} owner "
                                       f"tasks, {campaign.triage_count} in triage. Owners are "
                                       "being emailed.")
        return HttpResponseRedirect(campaign.get_absolute_url())


class CampaignMixin:
    def campaign(self) -> Campaign:
        if not hasattr(self, "_campaign"):
            self._campaign = get_object_or_404(Campaign, code=self.kwargs["code"])
        return self._campaign


class CampaignDetailView(ReadAllMixin, CampaignMixin, TemplateView):
    template_name = "reviews/campaign_detail.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        campaign = self.campaign()
        context.update(
            campaign=campaign, totals=progress.totals(campaign),
            teams=progress.per_team(campaign), owners=progress.per_owner(campaign),
            owner_count=progress.owner_count(campaign), attested=progress.attested(campaign),
            mail=progress.mail(campaign), failed=progress.failed_mail(campaign),
            remediations=progress.remediations(campaign),
        )
        return context


STATUS_FILTERS = {"pending": [A.Status.PENDING], "triage": [A.Status.TRIAGE],
                  "open": [A.Status.PENDING, A.Status.TRIAGE], "decided": [A.Status.DECIDED],
                  "expired": [A.Status.EXPIRED], "all": None}


class CampaignTasksView(ReadAllMixin, CampaignMixin, TemplateView):
    """A campaign's tasks: pending by default, or triage, decided, expired; by owner/team."""

    template_name = "reviews/campaign_tasks.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        campaign = self.campaign()
        status = self.request.GET.get("status", "open")
        status = status if status in STATUS_FILTERS else "open"
        tasks = campaign.tasks.select_related("reviewer").order_by("id")
        if STATUS_FILTERS[status]:
            tasks = tasks.filter(status__in=STATUS_FILTERS[status])
        owner = Person.objects.filter(code=_uuid(self.request.GET.get("owner"))).first()
        if owner:
            tasks = tasks.filter(reviewer=owner)
        team = self.request.GET.get("team")
        if _uuid(team):
            tasks = tasks.filter(team__code=team)
        page = Paginator(tasks, PAGE).get_page(self.request.GET.get("page"))
        rows = [(t, Shown(t.snapshot)) for t in page]
        context.update(campaign=campaign, page=page, rows=rows, status=status, owner=owner,
                       statuses=list(STATUS_FILTERS))
        return context


def _uuid(value) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


class CampaignActionView(EditorMixin, CampaignMixin, View):
    """POST-only actions on a campaign; each redirects back to the campaign page."""

    def post(self, request, code):
        campaign = self.campaign()
        if not campaign.is_open:
            messages.error(request, "This campaign is closed.")
        else:
            self.act(request, campaign)
        return HttpResponseRedirect(campaign.get_absolute_url())


class CampaignResendView(CampaignActionView):
    def act(self, request, campaign: Campaign) -> None:
        person = Person.objects.filter(code=_uuid(request.POST.get("owner"))).first()
        queued = mailing.queue_resend(campaign, request.user.email,
                                      person.pk if person else None)
        record(Actor.for_request(request), Change(
            "campaign.resend", "campaign", campaign.code, campaign.name, {},
            {"owners": queued, "owner": person.email if person else "all pending"}))
        ops._kick_mail(campaign.pk)
        messages.success(request, f"Resending to {queued} owner{'s' if queued != 1 else ''} "
                                  "with pending reviews, with fresh links.")


class CampaignRetryView(CampaignActionView):
    def act(self, request, campaign: Campaign) -> None:
        failed = list(progress.failed_mail(campaign, limit=10_000))
        retried = sum(mailing.retry(d) for d in failed)
        ops._kick_mail(campaign.pk)
        messages.success(request, f"Retrying {retried} failed email{'s' if retried != 1 else ''}.")


class CampaignCloseView(CampaignActionView):
    def act(self, request, campaign: Campaign) -> None:
        reason = request.POST.get("reason", "").strip() or "Closed from the campaign page"
        expired = ops.close_campaign(campaign, Actor.for_request(request), reason)
        messages.success(request, f"Closed. {expired} unanswered task{'s' if expired != 1 else ''}"
                                  " expired and count as not attested.")
