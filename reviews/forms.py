"""Forms: an owner's answer to one task, quick answers on the all-tasks page, opening a
campaign, and resolving a remediation item."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone

from inventory.choices import Zone
from ownership.models import Person
from reviews import conf
from reviews.campaigns import ScopeError, parse_scope, scope_queryset
from reviews.decisions import Answer
from reviews.models import Attestation, Campaign
from reviews.snapshot import Shown

D = Attestation.Decision
DECISIONS = [
    (D.CONFIRM, "Confirm — it is still needed and correctly owned"),
    (D.REVOKE, "Revoke — it is no longer needed; decommission it"),
    (D.REASSIGN, "Reassign — someone else maintains it"),
    (D.CHANGE, "Request a change — e.g. reduce its permissions"),
]
NEEDED = [("yes", "Yes"), ("no", "No")]


class DecisionForm(forms.Form):
    """The questions of the review and the decision, with optional corrections."""

    still_needed = forms.ChoiceField(label="Is it still needed?", choices=NEEDED,
                                     widget=forms.RadioSelect, required=False)
    maintainer = forms.CharField(label="Who maintains it?", max_length=255, required=False,
                                 help_text="A person or team; helps the next review.")
    minimum_permissions = forms.CharField(
        label="What is the minimum set of permissions it needs?", max_length=4000,
        required=False, widget=forms.Textarea(attrs={"rows": 3}))
    decision = forms.ChoiceField(label="Your decision", choices=DECISIONS,
                                 widget=forms.RadioSelect)
    purpose = forms.CharField(label="Purpose", required=False, max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 2}))
    zone = forms.ChoiceField(label="Zone", choices=[("", "—")] + Zone.choices, required=False)
    expires_on = forms.DateField(label="Expiry date", required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    new_owner = forms.EmailField(label="Hand over to (email of a colleague in the portal)",
                                 required=False)
    comment = forms.CharField(label="Comment", max_length=4000, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="Required for revoke, reassign and change requests.")

    CORRECTABLE = ("purpose", "zone", "expires_on")

    def __init__(self, *args, shown: Shown, **kwargs):
        expires = shown.expires_at
        kwargs.setdefault("initial", {
            "purpose": shown.purpose or "", "zone": shown.zone or "",
            "expires_on": expires.date() if expires else None,
        })
        super().__init__(*args, **kwargs)
        self.new_person: Person | None = None

    def clean_new_owner(self) -> str:
        email = self.cleaned_data.get("new_owner", "").strip()
        if email:
            self.new_person = Person.objects.filter(email__iexact=email, is_active=True).first()
            if self.new_person is None:
                raise forms.ValidationError(
                    "No active person with this email is known to the portal. Ask the "
                    "security team to add them, or request a change instead.")
        return email

    def clean(self) -> dict:
        data = super().clean()
        decision = data.get("decision")
        if decision and decision != D.CONFIRM and not data.get("comment", "").strip():
            self.add_error("comment", "Say why: it is recorded with your decision.")
        if decision == D.REASSIGN and not data.get("new_owner") and "new_owner" not in \
                self.errors:
            self.add_error("new_owner", "Whom should it go to?")
        if decision == D.CONFIRM and data.get("still_needed") == "no":
            self.add_error("decision", "You said it is no longer needed: choose Revoke.")
        if decision == D.CHANGE and not (data.get("minimum_permissions") or
                                         data.get("comment")):
            self.add_error("minimum_permissions", "Describe the change you need.")
        return data

    def corrections(self) -> dict:
        changed = [f for f in self.CORRECTABLE if f in self.changed_data]
        fixes = {f: self.cleaned_data[f] for f in changed}
        if "expires_on" in fixes:
            day = fixes.pop("expires_on")
            fixes["expires_at"] = datetime.combine(day, time.min, tzinfo=UTC) if day else None
        return fixes

    def answer(self) -> Answer:
        data = self.cleaned_data
        needed = {"yes": True, "no": False}.get(data.get("still_needed") or "")
        fixes = self.corrections() if data["decision"] == D.CONFIRM else {}
        return Answer(decision=data["decision"], comment=data.get("comment", "").strip(),
                      still_needed=needed, maintainer=data.get("maintainer", ""),
                      minimum_permissions=data.get("minimum_permissions", ""),
                      corrections=fixes, new_owner=self.new_person)


QUICK = [("", "— decide later —"), (D.CONFIRM, "Confirm"), (D.REVOKE, "Revoke"),
         (D.CHANGE, "Request a change")]


def quick_answers(post, tasks: list[Attestation]) -> tuple[list, dict[str, str]]:
    """Answers from the all-tasks page: (list of (task, Answer), {task code: error})."""
    taken, errors = [], {}
    for task in tasks:
        decision = post.get(f"decision-{task.code}", "")
        comment = post.get(f"comment-{task.code}", "").strip()[:4000]
        if not decision:
            continue
        if decision not in dict(QUICK):
            errors[str(task.code)] = "Unknown decision."
        elif decision != D.CONFIRM and not comment:
            errors[str(task.code)] = "Say why in the comment."
        else:
            taken.append((task, Answer(decision=decision, comment=comment,
                                       still_needed=decision != D.REVOKE,
                                       minimum_permissions=comment if decision == D.CHANGE
                                       else "")))
    return taken, errors


class CampaignForm(forms.Form):
    """Open an ad hoc campaign over a saved register filter."""

    name = forms.CharField(max_length=200)
    scope = forms.CharField(
        label="Register filter", required=False, max_length=4000,
        widget=forms.TextInput(attrs={"placeholder": "privilege=admin&environment=production"}),
        help_text="Filter the register, then paste its address or query string here. Empty: "
                  "every active identity. Only active identities unless the filter names a "
                  "status.")
    due_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    outcome_rule = forms.ChoiceField(choices=Campaign.OutcomeRule.choices)
    reminder_days = forms.CharField(
        max_length=40, required=False, label="Reminders (days before the due date)",
        help_text="Comma-separated, e.g. 7, 2. Only owners with something pending get them.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {
            "due_date": timezone.now().date() + timedelta(days=conf.get("REVIEWS_DUE_DAYS")),
            "outcome_rule": conf.get("REVIEWS_OUTCOME_RULE"),
            "reminder_days": ", ".join(str(d) for d in conf.get("REVIEWS_REMINDER_DAYS")),
        })
        super().__init__(*args, **kwargs)
        self.matching: int | None = None

    def clean_scope(self) -> str:
        scope = self.cleaned_data.get("scope", "")
        try:
            self.matching = scope_queryset(scope).count()
        except ScopeError as exc:
            raise forms.ValidationError(str(exc)) from None
        return parse_scope(scope).urlencode()

    def clean_due_date(self):
        due = self.cleaned_data["due_date"]
        if due <= timezone.now().date():
            raise forms.ValidationError("The due date must be in the future.")
        return due

    def clean_reminder_days(self) -> list[int]:
        raw = [p.strip() for p in self.cleaned_data.get("reminder_days", "").split(",")]
        if not all(p.isdigit() for p in raw if p):
            raise forms.ValidationError("Whole numbers of days, separated by commas.")
        return sorted({int(p) for p in raw if p}, reverse=True)


class ResolveForm(forms.Form):
    resolution = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 2}),
                                 label="What was done")


class AssignOwnerForm(forms.Form):
    """Triage: give an ownerless identity a technical owner, who gets a task."""

    email = forms.EmailField(label="Technical owner (email)")
    reason = forms.CharField(max_length=2000, label="Reason")

    def clean_email(self) -> Person:
        email = self.cleaned_data["email"].strip()
        person = Person.objects.filter(email__iexact=email, is_active=True).first()
        if person is None:
            raise forms.ValidationError("No active person with this email.")
        return person
