"""Sources page: each configured source with its latest runs."""

from django.db.models import Prefetch
from django.views.generic import ListView

from inventory.models import Source, SyncRun
from inventory.views.mixins import ReadAllMixin


class SourceListView(ReadAllMixin, ListView):
    template_name = "inventory/source_list.html"
    context_object_name = "sources"

    def get_queryset(self):
        # Sliced prefetch: the latest runs per source, not a source's whole history.
        recent = SyncRun.objects.order_by("-started_at")[:5]
        return Source.objects.prefetch_related(Prefetch("runs", recent, to_attr="recent_runs"))
