"""Pages for signed-in users: "My reviews" (every role; owners answer here too), one task
in the portal (its reviewer, or an analyst for a triage item), and remediation items."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from inventory.views.mixins import EditorMixin, ReadAllMixin, RoleRequiredMixin
from nhigov.lib.audit import Actor
from nhigov.lib.roles import can_edit, sees_everything
from reviews import conf, remediation
from reviews.decisions import AlreadyDecided, DecisionError, decide
from reviews.forms import DecisionForm, ResolveForm
from reviews.models import Attestation, Remediation
from reviews.snapshot import Shown

A = Attestation


def person_of(user):
    return getattr(user, "person", None)


class MyReviewsView(RoleRequiredMixin, TemplateView):
    template_name = "reviews/mine.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        person = person_of(self.request.user)
        mine = A.objects.filter(reviewer=person) if person else A.objects.none()
        pending = list(mine.filter(status=A.Status.PENDING, campaign__status="open")
                       .select_related("campaign").order_by("campaign__due_date", "id")[:500])
        decided = (mine.filter(status=A.Status.DECIDED).select_related("campaign")
                   .order_by("-decided_at")[:50])
        context.update(person=person, pending=[(t, Shown(t.snapshot)) for t in pending],
                       decided=decided)
        return context


class TaskView(RoleRequiredMixin, View):
    """One task in the portal. Its reviewer may answer it; analysts answer triage items;
    readers (analysts, auditors, admins) may look."""

    def allowed(self, user) -> bool:
        if not super().allowed(user):
            return False
        self.task = get_object_or_404(A.objects.select_related("campaign", "reviewer"),
                                      code=self.kwargs["code"])
        if not (self._is_reviewer(user) or sees_everything(user)):
            # Someone else's task: 404, as if it did not exist (its code reveals nothing).
            raise Http404("No such review task.")
        return True

    def _is_reviewer(self, user) -> bool:
        return self.task.reviewer is not None and self.task.reviewer.user_id == user.pk

    def may_answer(self, user) -> bool:
        if not (self.task.is_open and self.task.campaign.is_open):
            return False
        return self._is_reviewer(user) or (self.task.status == A.Status.TRIAGE
                                           and can_edit(user))

    def get(self, request, code):
        return self.page(request, DecisionForm(shown=Shown(self.task.snapshot)))

    def post(self, request, code):
        if not self.may_answer(request.user):
            raise PermissionDenied("You cannot answer this review.")
        form = DecisionForm(request.POST, shown=Shown(self.task.snapshot))
        if form.is_valid():
            try:
                decide(self.task, form.answer(), Actor.for_request(request))
            except AlreadyDecided:
                messages.warning(request, "This review was already answered.")
            except DecisionError as exc:
                form.add_error(None, str(exc))
                return self.page(request, form, status=400)
            else:
                messages.success(request, f"Recorded: {form.cleaned_data['decision']} "
                                          f"{self.task.snapshot.get('name')}.")
            return HttpResponseRedirect(reverse("reviews:task", args=[self.task.code]))
        return self.page(request, form, status=400)

    def page(self, request, form, status: int = 200):
        self.task.refresh_from_db()
        context = {"task": self.task, "shown": Shown(self.task.snapshot), "form": form,
                   "campaign": self.task.campaign, "may_answer": self.may_answer(request.user),
                   "security_email": conf.get("REVIEWS_SECURITY_EMAIL")}
        return render(request, "reviews/task.html", context, status=status)


class RemediationListView(ReadAllMixin, TemplateView):
    template_name = "reviews/remediation_list.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "open")
        items = Remediation.objects.select_related("identity", "assignee", "campaign")
        if status in Remediation.Status.values:
            items = items.filter(status=status)
        if self.request.GET.get("mine"):
            items = items.filter(assignee=self.request.user)
        context.update(items=items.order_by("-created_at", "-id")[:200], status=status,
                       form=ResolveForm(), mine=bool(self.request.GET.get("mine")),
                       statuses=Remediation.Status.choices)
        return context


class RemediationResolveView(EditorMixin, View):
    def post(self, request, code):
        item = get_object_or_404(Remediation, code=code)
        form = ResolveForm(request.POST)
        if form.is_valid() and remediation.resolve(item, Actor.for_request(request),
                                                   form.cleaned_data["resolution"]):
            messages.success(request, "Resolved.")
        elif not form.is_valid():
            messages.error(request, "Say what was done to resolve it.")
        return HttpResponseRedirect(reverse("reviews:remediation_list"))


