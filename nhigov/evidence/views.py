"""The evidence pack page: pick a framework and a period, download the ZIP as it is built.

Auditors, analysts and admins; owners are refused (a pack covers the whole register).
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.views.generic import FormView

from inventory.views.mixins import ReadAllMixin
from nhigov.evidence.builder import ACTION, EvidencePack
from nhigov.evidence.forms import PackForm, last_quarter
from nhigov.evidence.frameworks import FILES, FRAMEWORKS
from nhigov.lib.audit import Actor
from nhigov.models import AuditEvent


def pack_response(pack: EvidencePack) -> StreamingHttpResponse:
    """The ZIP as a streamed download (used by the page and the API)."""
    response = StreamingHttpResponse(pack.stream(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{pack.filename}"'
    response["Cache-Control"] = "no-store"
    return response


class EvidencePackView(ReadAllMixin, FormView):
    template_name = "evidence/pack.html"
    form_class = PackForm

    def get_initial(self) -> dict:
        period = last_quarter()
        return {"framework": "soc2", "start": period.start, "end": period.end}

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        recent = AuditEvent.objects.filter(action=ACTION).only(
            "at", "actor", "object_repr", "after")[:10]
        context.update(recent=recent, files=FILES, frameworks=FRAMEWORKS.values())
        return context

    def form_valid(self, form):
        pack = EvidencePack.create(form.cleaned_data["framework"], form.period,
                                   Actor.for_request(self.request))
        return pack_response(pack)
