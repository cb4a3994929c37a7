"""Forms for triaging findings, editing the policy and importing scanner reports."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from inventory.risk import policy as policies
from inventory.risk.actions import MAX_ACCEPT_DAYS


class AcceptForm(forms.Form):
    until = forms.DateField(label="Accepted until", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label="Reason", max_length=2000)

    def clean_until(self):
        until = self.cleaned_data["until"]
        today = timezone.localdate()
        if until <= today:
            raise forms.ValidationError("Pick a date after today.")
        if until > today + dt.timedelta(days=MAX_ACCEPT_DAYS):
            raise forms.ValidationError(f"At most {MAX_ACCEPT_DAYS} days ahead.")
        return until


class ResolveForm(forms.Form):
    why = forms.CharField(label="What was done", max_length=2000)


class ReopenForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=2000)


class PolicyForm(forms.Form):
    document = forms.CharField(widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}))
    reason = forms.CharField(max_length=2000, help_text="Recorded with the version (required).")

    def clean_document(self):
        text = self.cleaned_data["document"].replace("\r\n", "\n")
        try:
            policies.parse(text)
        except policies.PolicyError as exc:
            raise forms.ValidationError([str(p) for p in exc.problems]) from exc
        return text


class LeakImportForm(forms.Form):
    report = forms.FileField(help_text="gitleaks (--report-format json) or trufflehog (--json) "
                                       "output. Secret values are never stored.")
