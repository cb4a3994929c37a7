"""Import page (placeholder until the importer lands)."""

from django.views.generic import TemplateView

from inventory.views.mixins import EditorMixin


class ImportView(EditorMixin, TemplateView):
    template_name = "inventory/import.html"
