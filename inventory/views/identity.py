"""One identity: its detail page and the edit form."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, UpdateView

from inventory.editing import update_identity
from inventory.forms import IdentityEditForm
from inventory.models import Identity
from inventory.views.mixins import EditorMixin, RoleRequiredMixin, visible_identities
from nhigov.lib.audit import Actor
from nhigov.models import AuditEvent
from ownership.models import Person

HISTORY_LIMIT = 100


class IdentityScopedMixin:
    """Look identities up by code within what the user may see (404 outside it, so an
    owner cannot learn that another team's identity exists)."""

    def get_object(self, queryset=None) -> Identity:
        return get_object_or_404(visible_identities(self.request.user), code=self.kwargs["code"])


class IdentityDetailView(RoleRequiredMixin, IdentityScopedMixin, DetailView):
    template_name = "inventory/identity_detail.html"
    context_object_name = "identity"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        identity = self.object
        context["credentials"] = identity.credentials.order_by("-created_at_source")
        events = AuditEvent.objects.filter(
            object_type="identity", object_id=str(identity.code)
        ).order_by("-id")[:HISTORY_LIMIT]
        context["history"] = [(e, _diff_rows(e)) for e in events]
        context["hints"] = _hint_rows(identity)
        return context


def _diff_rows(event: AuditEvent) -> list[tuple[str, object, object]]:
    before = event.before or {}
    return [(key, before.get(key), value) for key, value in (event.after or {}).items()]


def _hint_rows(identity: Identity) -> list[tuple[str, str]]:
    """Owner hints from the source that differ from what the register holds."""
    current = {
        "technical_owner": getattr(identity.technical_owner, "email", ""),
        "business_owner": getattr(identity.business_owner, "email", ""),
        "team": getattr(identity.team, "slug", ""),
        "purpose": identity.purpose,
        "zone": identity.zone,
    }
    hints = identity.owner_hints or {}
    return [(k, str(v)) for k, v in hints.items() if v and str(v) != str(current.get(k, ""))]


class IdentityEditView(EditorMixin, IdentityScopedMixin, UpdateView):
    template_name = "inventory/identity_edit.html"
    form_class = IdentityEditForm
    context_object_name = "identity"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        # Suggest people for the owner fields; capped so the page stays light.
        context["people"] = Person.objects.filter(is_active=True).values_list(
            "email", flat=True
        )[:2000]
        return context

    def form_valid(self, form):
        # Re-read the stored row: the form has already written new values onto instance.
        identity = Identity.objects.get(pk=self.object.pk)
        changed = update_identity(
            identity, form.changes(), Actor.for_request(self.request),
            form.cleaned_data["reason"],
        )
        if changed:
            messages.success(self.request, f"Saved: {', '.join(changed)}.")
        else:
            messages.info(self.request, "Nothing changed.")
        return HttpResponseRedirect(identity.get_absolute_url())
