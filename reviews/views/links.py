"""Owner link pages, reached from emails without a portal login (DESIGN.md "Owner links").

GET only renders (mail scanners open links); POST decides. Nothing here logs anyone in or
touches the session. Every open, decision and refusal is audited; attempts are rate
limited per address and per token.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from nhigov.lib.audit import Actor, Change, record
from nhigov.models import AuditEvent
from reviews import conf, ratelimit, tokens
from reviews.decisions import AlreadyDecided, DecisionError, decide
from reviews.forms import QUICK, DecisionForm, quick_answers
from reviews.models import Attestation, ReviewLink
from reviews.snapshot import Shown
from reviews.tokens import Problem

STATUS = {Problem.INVALID: 404, Problem.EXPIRED: 410, Problem.CLOSED: 410, Problem.USED: 410,
          Problem.WRONG_RECIPIENT: 403, Problem.WITHDRAWN: 410, "rate_limited": 429}


def owner_actor(request, link: ReviewLink) -> Actor:
    return Actor(AuditEvent.ActorType.OWNER_LINK, link.person.email, None,
                 getattr(request, "request_id", ""))


def _refused(request, problem: str, link: ReviewLink | None, task: Attestation | None = None):
    """Audit a refused attempt and explain what to do next."""
    ip = ratelimit.client_ip(request)
    actor = owner_actor(request, link) if link else Actor(
        AuditEvent.ActorType.SYSTEM, "anonymous link visitor", None,
        getattr(request, "request_id", ""))
    task = task or (link.attestation if link else None)
    object_id = task.code if task else (link.campaign.code if link else "-")
    record(actor, Change("review_link.refused", "attestation" if task else "review_link",
                         object_id, str(task) if task else "", {},
                         {"problem": problem, "ip": ip, "method": request.method}))
    context = {"problem": problem, "link": link, "task": task,
               "security_email": conf.get("REVIEWS_SECURITY_EMAIL")}
    return render(request, "reviews/link_problem.html", context, status=STATUS[problem])


@method_decorator([login_not_required, never_cache], name="dispatch")
class LinkView(View):
    """/review/<token>/ (one task, or all the recipient's tasks) and
    /review/<token>/<task code>/ (one task reached from the all-tasks page)."""

    http_method_names = ["get", "post"]

    def dispatch(self, request, token: str, task=None):
        ip = ratelimit.client_ip(request)
        allowed, first = ratelimit.allow(ip, tokens.digest(token)[:32])
        if not allowed:
            if first:
                return _refused(request, "rate_limited", None)
            return render(request, "reviews/link_problem.html", {"problem": "rate_limited"},
                          status=429)
        checked = tokens.check(token)
        if checked.problem:
            if checked.problem == Problem.INVALID:
                ratelimit.note_invalid(ip)
            return _refused(request, checked.problem, checked.link)
        self.link, self.token = checked.link, token
        self.actor = owner_actor(request, self.link)
        self.task = self.link.attestation
        if task is not None:
            return self._dispatch_sub(request, task)
        return super().dispatch(request, token, task)

    def _dispatch_sub(self, request, code):
        """A task opened from the all-tasks page: it must be this recipient's, and open."""
        if self.task is not None:
            return _refused(request, Problem.INVALID, self.link)
        task = Attestation.objects.filter(code=code, campaign=self.link.campaign).first()
        if task is None:
            return _refused(request, Problem.INVALID, self.link)
        if task.reviewer_id != self.link.person_id:
            return _refused(request, Problem.WRONG_RECIPIENT, self.link, task)
        if task.status != Attestation.Status.PENDING:
            problem = Problem.WITHDRAWN if task.status == Attestation.Status.TRIAGE else \
                Problem.USED
            return _refused(request, problem, self.link, task)
        self.task, self.sub = task, True
        return super().dispatch(request, self.token, code)

    # --- one task ------------------------------------------------------------------------

    def get(self, request, token, task=None):
        if self.task is None:
            return self._all_page(request)
        record(self.actor, Change("attestation.link_open", "attestation", self.task.code,
                                  str(self.task), {}, {"ip": ratelimit.client_ip(request)}))
        return self._task_page(request, DecisionForm(shown=Shown(self.task.snapshot)))

    def post(self, request, token, task=None):
        if self.task is None:
            return self._all_post(request)
        form = DecisionForm(request.POST, shown=Shown(self.task.snapshot))
        if not form.is_valid():
            return self._task_page(request, form, status=400)
        link = self.link if self.link.attestation_id else None
        try:
            decided = decide(self.task, form.answer(), self.actor, link=link)
        except AlreadyDecided:
            return _refused(request, Problem.USED, self.link, self.task)
        except DecisionError as exc:
            form.add_error(None, str(exc))
            return self._task_page(request, form, status=400)
        return render(request, "reviews/link_done.html", self._context(task=decided))

    def _context(self, **extra) -> dict:
        from_all = getattr(self, "sub", False)
        return {"campaign": self.link.campaign, "person": self.link.person,
                "all_url": reverse("reviews:link", args=[self.token]) if from_all else "",
                "security_email": conf.get("REVIEWS_SECURITY_EMAIL"), **extra}

    def _task_page(self, request, form, status: int = 200):
        context = self._context(task=self.task, shown=Shown(self.task.snapshot), form=form)
        return render(request, "reviews/link_task.html", context, status=status)

    # --- all the recipient's tasks -------------------------------------------------------

    def _pending(self) -> list[Attestation]:
        return list(Attestation.objects.filter(
            campaign=self.link.campaign, reviewer=self.link.person,
            status=Attestation.Status.PENDING).order_by("identity__name", "id"))

    def _all_page(self, request, **extra):
        tasks = extra.pop("tasks", None) or self._pending()
        if request.method == "GET":
            record(self.actor, Change("review_link.open", "campaign", self.link.campaign.code,
                                      self.link.campaign.name, {},
                                      {"pending": len(tasks),
                                       "ip": ratelimit.client_ip(request)}))
        preset = request.GET.get("preset", "")
        posted = request.POST if request.method == "POST" else {}
        rows = [{"task": t, "shown": Shown(t.snapshot),
                 "decision": posted.get(f"decision-{t.code}", preset if preset in
                                        dict(QUICK) else ""),
                 "comment": posted.get(f"comment-{t.code}", "")} for t in tasks]
        answered = (Attestation.objects.filter(
            campaign=self.link.campaign, reviewer=self.link.person,
            status=Attestation.Status.DECIDED).order_by("-decided_at")[:200])
        context = self._context(rows=rows, choices=QUICK, answered=answered,
                                base_url=reverse("reviews:link", args=[self.token]), **extra)
        return render(request, "reviews/link_all.html", context,
                      status=400 if extra.get("errors") else 200)

    def _all_post(self, request):
        tasks = self._pending()
        taken, errors = quick_answers(request.POST, tasks)
        done = []
        for task, answer in taken:
            try:
                done.append(decide(task, answer, self.actor))
            except DecisionError as exc:  # includes AlreadyDecided
                errors[str(task.code)] = str(exc)
        remaining = [t for t in tasks if t.pk not in {d.pk for d in done}]
        return self._all_page(request, tasks=remaining, done=done, errors=errors,
                              nothing_chosen=not taken and not errors)
