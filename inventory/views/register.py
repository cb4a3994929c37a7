"""The register list, its CSV download and bulk assignment. Views stay thin: filtering
lives in inventory.filtersets, paging in nhigov.lib.keyset, changes in inventory.editing."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from inventory import export
from inventory.choices import Zone
from inventory.editing import EditError, bulk_assign
from inventory.filter_ui import active_chips, filter_controls
from inventory.filtersets import SORT_FIELDS, IdentityFilterSet
from inventory.forms import BulkAssignForm
from inventory.views.mixins import EditorMixin, RoleRequiredMixin, visible_identities
from nhigov.lib.audit import Actor, Change, record
from nhigov.lib.keyset import bounded_count, paginate
from nhigov.lib.roles import sees_everything
from ownership.models import Team

DEFAULT_SORT = "name"


def clean_sort(value: str) -> str:
    return value if value.lstrip("-") in SORT_FIELDS else DEFAULT_SORT


def filtered(request, data: QueryDict | None = None) -> IdentityFilterSet:
    """The register filter bound to `data` (default: the request's query string)."""
    return IdentityFilterSet(
        data if data is not None else request.GET, queryset=visible_identities(request.user)
    )


class IdentityListView(RoleRequiredMixin, TemplateView):
    template_name = "inventory/identity_list.html"

    def get_template_names(self) -> list[str]:
        # HTMX swaps only the results when a filter changes; the full page otherwise.
        if self.request.headers.get("HX-Target") == "results":
            return ["inventory/_identity_results.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        fs = filtered(self.request)
        sort = clean_sort(self.request.GET.get("sort", DEFAULT_SORT))
        valid = fs.is_valid()
        qs = fs.qs if valid else fs.queryset.none()
        page = paginate(
            qs, sort, settings.REGISTER_PAGE_SIZE,
            after=self.request.GET.get("after", ""), before=self.request.GET.get("before", ""),
        )
        # The planner's estimate fits only the whole, unscoped table.
        narrowed = fs.is_filtered or not sees_everything(self.request.user) or not valid
        count, exact = bounded_count(qs, settings.REGISTER_COUNT_CAP, narrowed)
        context.update(
            filterset=fs, page=page, sort=sort, count=count, count_exact=exact,
            sort_fields=SORT_FIELDS, bulk_form=BulkAssignForm(), now=timezone.now(),
            teams=Team.objects.order_by("name").values_list("name", flat=True),
            zones=Zone.values, filter_query=_without_paging(self.request.GET),
            controls=filter_controls(fs), chips=active_chips(fs),
        )
        return context


def _without_paging(query: QueryDict) -> str:
    copy = query.copy()
    for key in ("after", "before"):
        copy.pop(key, None)
    return copy.urlencode()


class IdentityExportView(RoleRequiredMixin, View):
    """CSV of every identity matching the current filter, streamed with constant memory."""

    def get(self, request):
        fs = filtered(request)
        qs = fs.qs if fs.is_valid() else fs.queryset.none()
        record(
            Actor.for_request(request),
            Change("identity.export", "register", "csv", "Register CSV",
                   after={"filter": _without_paging(request.GET)}),
            reason="CSV download",
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(export.csv_rows(qs), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="nhigov-identities-{stamp}.csv"'
        return response


class BulkAssignView(EditorMixin, View):
    """Assign an owner, team or zone to the selected rows or to all rows matching."""

    def post(self, request):
        form = BulkAssignForm(request.POST)
        back = reverse("inventory:identity_list") + "?" + request.POST.get("filter_query", "")
        if not form.is_valid():
            for error in form.errors.values():
                messages.error(request, " ".join(error))
            return HttpResponseRedirect(back)
        data = form.cleaned_data
        if data["scope"] == "all":
            fs = filtered(request, QueryDict(data["filter_query"]))
            if not fs.is_valid():
                messages.error(request, "The filter is not valid; nothing was changed.")
                return HttpResponseRedirect(back)
            qs = fs.qs
        else:
            qs = visible_identities(request.user).filter(code__in=data["selected"])
        try:
            changed = bulk_assign(
                qs, data["field"], data["resolved"], Actor.for_request(request), data["reason"]
            )
        except EditError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(back)
        label = dict(BulkAssignForm.FIELD_CHOICES)[data["field"]].lower()
        noun = "identity" if changed == 1 else "identities"
        messages.success(request, f"Set {label} to {data['value']} on {changed:,} {noun}.")
        return HttpResponseRedirect(back)
