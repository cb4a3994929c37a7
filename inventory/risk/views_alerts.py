"""Alert deliveries (what was sent where, what failed and will be retried) and the
secret-scanner report import."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView

from inventory.models import AlertDelivery, LeakReport
from inventory.risk import alerts, leaks
from inventory.risk.forms import LeakImportForm
from inventory.views.mixins import EditorMixin, ReadAllMixin
from nhigov.lib.audit import Actor

LIMIT = 200


class AlertListView(ReadAllMixin, TemplateView):
    template_name = "risk/alert_list.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "")
        rows = AlertDelivery.objects.order_by("-created_at")
        if status in AlertDelivery.Status.values:
            rows = rows.filter(status=status)
        context.update(
            deliveries=rows[:LIMIT], status=status, statuses=AlertDelivery.Status.choices,
            counts=dict(AlertDelivery.objects.values_list("status").annotate(n=Count("id"))),
            channels=alerts.configured_channels(),
        )
        return context


class AlertRetryView(EditorMixin, View):
    """Retry failed deliveries now (they are also retried on their own schedule)."""

    def post(self, request):
        count = AlertDelivery.objects.filter(status=AlertDelivery.Status.FAILED).update(
            status=AlertDelivery.Status.PENDING, next_attempt_at=timezone.now(), attempts=0)
        sent = alerts.deliver_due()
        messages.success(request, f"Retried {count} failed deliveries; {sent} sent.")
        return HttpResponseRedirect(reverse("risk:alert_list"))


class LeakImportView(EditorMixin, FormView):
    template_name = "risk/leak_import.html"
    form_class = LeakImportForm

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["reports"] = LeakReport.objects.select_related(
            "credential", "credential__identity").order_by("-imported_at")[:LIMIT]
        return context

    def form_valid(self, form):
        data = form.cleaned_data["report"].read()
        try:
            result = leaks.import_report(data, Actor.for_request(self.request))
        except leaks.ReportError as exc:
            form.add_error("report", str(exc))
            return self.form_invalid(form)
        if result.matched:
            from inventory.risk.engine import evaluate_all

            evaluate_all("secret scanner report")
        messages.success(
            self.request, f"{result.tool or 'Report'}: {result.found} findings, "
                          f"{result.imported} new, {result.matched} matched to a credential, "
                          f"{result.duplicates} already known.")
        return HttpResponseRedirect(reverse("risk:leak_import"))
