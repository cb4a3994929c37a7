"""Auditor pages: the audit log (filters, keyset pages, CSV) and an identity's timeline.

Read-only for everyone. Analysts, auditors and admins read the log; owners do not (it
names every identity and person), but they may read the timeline of an identity they own,
as they already see its detail page. Logic lives in nhigov.lib.audit_log/audit_timeline.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from inventory.views.mixins import ReadAllMixin, RoleRequiredMixin, visible_identities
from nhigov.lib.audit import Actor, Change, record
from nhigov.lib.audit_log import (
    AuditFilterForm,
    chain_status,
    csv_rows,
    filter_events,
    filter_query,
)
from nhigov.lib.audit_timeline import timeline
from nhigov.lib.keyset import paginate
from nhigov.models import AuditEvent


def _filtered(request) -> tuple[AuditFilterForm, object]:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return form, AuditEvent.objects.none()
    return form, filter_events(form.cleaned_data)


class AuditLogView(ReadAllMixin, TemplateView):
    template_name = "audit/log.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        form, qs = _filtered(self.request)
        page = paginate(qs, "-id", settings.AUDIT_PAGE_SIZE,
                        after=self.request.GET.get("after", ""),
                        before=self.request.GET.get("before", ""))
        rows = [(e, [(k, (e.before or {}).get(k), v) for k, v in (e.after or {}).items()],
                 _timeline_url(e)) for e in page.rows]
        query = self.request.GET.copy()
        for key in ("after", "before"):
            query.pop(key, None)
        context.update(form=form, page=page, rows=rows, status=chain_status(),
                       filter_query=query.urlencode())
        return context


def _timeline_url(event: AuditEvent) -> str:
    """Identity events link to the identity's timeline (older events may carry other ids)."""
    if event.object_type != "identity":
        return ""
    try:
        return reverse("audit:timeline", kwargs={"code": UUID(event.object_id)})
    except ValueError:
        return ""


class AuditExportView(ReadAllMixin, View):
    """The filtered log as CSV, streamed; the download is itself an audit event."""

    def get(self, request):
        form, qs = _filtered(request)
        data = filter_query(form.cleaned_data) if form.is_valid() else {}
        record(Actor.for_request(request),
               Change("audit.export", "audit_log", "csv", "Audit log CSV", after={"filter": data}),
               reason="CSV download")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(csv_rows(qs), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="nhigov-audit-{stamp}.csv"'
        return response


class IdentityTimelineView(RoleRequiredMixin, TemplateView):
    """Everything that happened to one identity; owners see their own identities' only."""

    template_name = "audit/timeline.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        identity = get_object_or_404(visible_identities(self.request.user),
                                     code=self.kwargs["code"])
        entries, more = timeline(identity)
        context.update(identity=identity, entries=entries, more=more)
        return context
