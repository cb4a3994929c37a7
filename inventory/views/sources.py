"""Sources pages: the list with each source's last run, a source's detail with its runs,
the create/edit form, and the Run now / Test connection / held-run actions.

Who may do what (nhigov.lib.roles):

* analysts, auditors and admins see sources and runs;
* analysts and admins may **run** a source, **test** its connection and **confirm or
  discard a held run**: these are operations on the register (held runs are explicitly
  the analyst's call, DESIGN.md), they change no configuration, and a test reads only
  what a run would read;
* only admins **create or edit** a source (configuration is administration).

Views stay thin: runs and tests go through inventory.tasks, schedules and held runs
through inventory.discovery, audited saves through inventory.source_config.
"""

from __future__ import annotations

import json
import time

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from inventory import discovery, tasks
from inventory.forms_sources import HeldRunForm, SourceForm
from inventory.models import Source, SyncRun
from inventory.source_config import connector_class, save_source, snapshot
from inventory.sync import HeldRunError
from inventory.views.mixins import AdminOnlyMixin, EditorMixin, ReadAllMixin
from nhigov.lib.audit import Actor

RECENT_RUNS = 8  # per source on the list: the last one in full, the rest as a strip
DETAIL_RUNS = 50
# After "Run now" with a real broker, the run row appears only when a worker starts it:
# the page keeps polling this long for it.
PENDING_SECONDS = 60


def _pending(request) -> int | None:
    """The `pending` query value (epoch seconds of a Run now) while still recent."""
    try:
        since = int(request.GET.get("pending", ""))
    except ValueError:
        return None
    return since if 0 <= time.time() - since <= PENDING_SECONDS else None


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


class SourceListView(ReadAllMixin, ListView):
    """Every source with its schedule, next run and last run; polls while one runs."""

    template_name = "inventory/source_list.html"
    context_object_name = "sources"

    def get_template_names(self) -> list[str]:
        return ["inventory/_source_table.html" if _is_htmx(self.request) else self.template_name]

    def get_queryset(self):
        # Sliced prefetch: the latest runs per source in one query, not whole histories.
        recent = SyncRun.objects.order_by("-started_at")[:RECENT_RUNS]
        return Source.objects.prefetch_related(Prefetch("runs", recent, to_attr="recent_runs"))

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        rows = [(s, discovery.source_state(s, s.recent_runs)) for s in context["sources"]]
        pending = _pending(self.request)
        context.update(rows=rows, pending=pending,
                       polling=pending is not None or any(st.running for _, st in rows))
        return context


class SourceDetailView(ReadAllMixin, DetailView):
    """A source: its configuration, the connector's parameters, its runs, held-run review
    and the connection test."""

    template_name = "inventory/source_detail.html"
    context_object_name = "source"
    slug_field = slug_url_kwarg = "code"
    queryset = Source.objects.all()
    check = None  # a CheckResult once "Test connection" ran

    def get_template_names(self) -> list[str]:
        return ["inventory/_source_runs.html" if _is_htmx(self.request) else self.template_name]

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        runs = list(self.object.runs.order_by("-started_at")[:DETAIL_RUNS])
        connector = connector_class(self.object.kind)
        state = discovery.source_state(self.object, runs)
        held = state.last_run if state.last_run and state.last_run.status == "held" else None
        pending = _pending(self.request)
        context.update(
            runs=[(run, discovery.format_duration(run.duration)) for run in runs],
            state=state, held=held, params=_params(connector, self.object),
            # Plain values: a template would try to call the class.
            connector=connector and {"title": connector.title or connector.name,
                                     "auth": connector.auth},
            config_json=json.dumps(self.object.config, indent=2, sort_keys=True),
            check=self.check, check_details=_details(self.check), pending=pending,
            polling=pending is not None or state.running,
        )
        return context


def _params(connector, source: Source) -> list[tuple[str, bool, str, str, bool]]:
    """The connector's parameters as (name, required, default, help, set here) rows."""
    rows = []
    for param in getattr(connector, "params", []):
        default = "" if param.default in (None, "", [], {}) else json.dumps(param.default)
        rows.append((param.name, param.required, default, param.help,
                     param.name in (source.config or {})))
    return rows


def _details(check) -> list[tuple[str, str]]:
    """A CheckResult's details as (label, text) rows: lists joined, objects as JSON."""
    rows = []
    for key, value in (check.details if check else {}).items():
        if isinstance(value, list | tuple):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = json.dumps(value, sort_keys=True, default=str)
        else:
            text = "" if value is None else str(value)
        rows.append((key.replace("_", " "), text))
    return rows


class SourceFormMixin(AdminOnlyMixin):
    """Create and edit: the same form, an audited save, back to the source's page."""

    model = Source
    form_class = SourceForm
    template_name = "inventory/source_form.html"
    slug_field = slug_url_kwarg = "code"
    before: dict | None = None

    def form_valid(self, form) -> HttpResponseRedirect:
        source = form.save(commit=False)
        changed = save_source(source, self.before, Actor.for_request(self.request),
                              form.cleaned_data["reason"])
        if self.before is None:
            messages.success(self.request, f"Source {source.name} created.")
        elif changed:
            messages.success(self.request, f"Saved: {', '.join(changed)}.")
        else:
            messages.info(self.request, "Nothing changed.")
        return HttpResponseRedirect(reverse("inventory:source_detail", args=[source.code]))


class SourceCreateView(SourceFormMixin, CreateView):
    pass


class SourceEditView(SourceFormMixin, UpdateView):
    def get_object(self, queryset=None) -> Source:
        source = super().get_object(queryset)
        self.before = snapshot(source)  # before the form writes onto the instance
        return source


class SourceRunView(EditorMixin, View):
    """POST: run the source now (queued on a worker, or in-process when embedded)."""

    def post(self, request, code):
        source = get_object_or_404(Source, code=code)
        back = (reverse("inventory:source_detail", args=[code])
                if request.POST.get("next") == "detail" else reverse("inventory:source_list"))
        if connector_class(source.kind) is None:
            messages.error(request, f"{source.name} has no connector to run: a "
                                    f"{source.get_kind_display()} source is fed by imports.")
            return HttpResponseRedirect(back)
        queued = tasks.queue_sync(source, Actor.for_request(request))
        _tell_outcome(request, source, queued)
        # Queued for a worker: no run row yet, so the page polls until one shows up.
        suffix = "" if queued.run or queued.skipped else f"?pending={int(time.time())}"
        return HttpResponseRedirect(back + suffix)


def _tell_outcome(request, source: Source, queued: tasks.QueuedSync) -> None:
    if queued.skipped:
        messages.warning(request, f"{source.name}: not started, a run is already going on.")
    elif queued.run is not None:
        run = queued.run
        level = messages.success if run.status == "succeeded" else messages.warning
        level(request, f"{source.name}: run {run.get_status_display().lower()} — "
                       f"{run.seen} seen, {run.created} created, {run.updated} updated, "
                       f"{run.missing} missing.")
    else:
        messages.success(request, f"{source.name}: run queued. This page refreshes as it "
                                  "goes; a run already going on makes it skip.")


class SourceTestView(EditorMixin, SourceDetailView):
    """POST: test the connection on a worker; the result replaces the test panel (HTMX)
    or shows on the source's page (no JavaScript)."""

    def get_template_names(self) -> list[str]:
        if _is_htmx(self.request):
            return ["inventory/_source_check.html"]
        return [SourceDetailView.template_name]

    def get(self, request, *args, **kwargs):
        return HttpResponseRedirect(reverse("inventory:source_detail", args=[kwargs["code"]]))

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        self.check = tasks.check_source(self.object)
        return self.render_to_response(self.get_context_data(object=self.object))


class HeldRunView(EditorMixin, View):
    """POST: confirm or discard the source's held run, with a reason."""

    def post(self, request, code, run_code):
        run = get_object_or_404(SyncRun.objects.select_related("source"), code=run_code,
                                source__code=code)
        form = HeldRunForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                messages.error(request, " ".join(errors))
        else:
            confirm = form.cleaned_data["decision"] == "confirm"
            try:
                decided = discovery.decide_held_run(run, confirm, Actor.for_request(request),
                                                    form.cleaned_data["reason"])
            except HeldRunError as exc:
                messages.error(request, str(exc))
            else:
                text = (f"Confirmed: {decided.missing} identities marked missing." if confirm
                        else "Discarded: nothing was marked missing.")
                messages.success(request, text)
        return HttpResponseRedirect(reverse("inventory:source_detail", args=[code]))
