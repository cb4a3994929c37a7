"""The policy page: the document in force and every earlier version (everyone who sees the
whole register), and a new version with a reason (admins). An invalid document is
refused with its lines and reasons."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import FormView, TemplateView

from inventory.models import PolicyVersion
from inventory.risk import policy as policies
from inventory.risk.forms import PolicyForm
from inventory.views.mixins import AdminOnlyMixin, ReadAllMixin
from nhigov.lib.audit import Actor


class PolicyView(ReadAllMixin, TemplateView):
    template_name = "risk/policy.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        number = self.kwargs.get("number")
        versions = list(PolicyVersion.objects.select_related("author").order_by("-number"))
        if number is not None:
            shown = next((v for v in versions if v.number == number), None)
            if shown is None:
                raise Http404("No such policy version.")
        else:
            shown = versions[0] if versions else None
        context.update(
            versions=versions, shown=shown, is_current=shown is None or shown == versions[0],
            document=shown.document if shown else policies.default_document(),
        )
        return context


class PolicyEditView(AdminOnlyMixin, FormView):
    template_name = "risk/policy_edit.html"
    form_class = PolicyForm

    def get_initial(self) -> dict:
        current = policies.current_version()
        return {"document": current.document if current else policies.default_document()}

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["current"] = policies.current_version()
        return context

    def form_valid(self, form):
        version = policies.save_version(
            form.cleaned_data["document"], Actor.for_request(self.request),
            form.cleaned_data["reason"], author=self.request.user)
        messages.success(self.request, f"Saved policy version {version.number}; it applies "
                                       "from the next evaluation.")
        return HttpResponseRedirect(reverse("risk:policy"))
