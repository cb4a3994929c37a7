"""Sources page: each configured source with its latest runs."""
from django.views.generic import ListView

from inventory.models import Source
from inventory.views.mixins import ReadAllMixin


class SourceListView(ReadAllMixin, ListView):
    template_name = "inventory/source_list.html"
    context_object_name = "sources"

    def get_queryset(self):
        return Source.objects.prefetch_related("runs")
