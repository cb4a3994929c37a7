"""Import page: upload a CSV or JSON file of identities into a file source.

Thin on purpose: validation and writing live in inventory.importer.
"""

from django import forms
from django.http import HttpResponse
from django.views.generic import FormView

from inventory.choices import SourceKind
from inventory.importer import COLUMNS, example_csv, import_file, max_bytes, read_limited
from inventory.models import Source
from inventory.views.mixins import EditorMixin
from nhigov.lib.audit import Actor

# The page shows this many errors; the count says how many there were in all.
ERRORS_SHOWN = 1000


class ImportForm(forms.Form):
    """The upload: a file and the name of the file source it feeds."""

    file = forms.FileField(help_text="CSV with a header row, or JSON (an array of objects). "
                                     "The format is detected from the name or the content.")
    source = forms.CharField(
        max_length=100, label="Source name", initial="manual-import",
        help_text="An existing file source, or a new name to create one.",
        widget=forms.TextInput(attrs={"list": "file-sources", "autocomplete": "off"}),
    )


class ImportView(EditorMixin, FormView):
    """Upload form, then either the import's counts or every row error."""

    template_name = "inventory/import.html"
    form_class = ImportForm

    def get(self, request, *args, **kwargs):
        if request.GET.get("download") == "example":
            response = HttpResponse(example_csv(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="nhigov-import-example.csv"'
            return response
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["file_sources"] = Source.objects.filter(kind=SourceKind.FILE).values_list(
            "name", flat=True)
        context["columns"] = [(name, required, text) for name, (required, text)
                              in COLUMNS.items()]
        context["max_mb"] = f"{max_bytes() / 1024 / 1024:g}"
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        result = import_file(read_limited(upload), file_name=upload.name,
                             source_name=form.cleaned_data["source"],
                             actor=Actor.for_request(self.request))
        context = self.get_context_data(form=form, result=result,
                                        errors=result.errors[:ERRORS_SHOWN])
        return self.render_to_response(context)
