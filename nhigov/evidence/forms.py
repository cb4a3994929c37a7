"""The pack request: a framework and a period, shared by the page, the API and the command."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone

from nhigov.evidence.files import Period
from nhigov.evidence.frameworks import CHOICES

# A pack over more than a few years is almost certainly a typo in a date.
MAX_DAYS = 5 * 366


def last_quarter(today: date | None = None) -> Period:
    """The calendar quarter before the one `today` falls in: the usual audit period."""
    today = today or timezone.now().date()
    first_this = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    end = first_this - timedelta(days=1)
    return Period(date(end.year, end.month - 2, 1), end)


def period_problem(start: date, end: date) -> str:
    """Why (start, end) is not a usable period, or "" when it is."""
    if end < start:
        return "The period ends before it starts."
    if end == date.max:  # Period.end_at is the next day's start, which does not exist
        return "The period ends too late."
    if (end - start).days > MAX_DAYS:
        return "A pack covers at most five years."
    return ""


class PackForm(forms.Form):
    framework = forms.ChoiceField(choices=CHOICES)
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="First day of the period (UTC).")
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                          help_text="Last day of the period, included.")

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and period_problem(start, end):
            raise forms.ValidationError(period_problem(start, end))
        return data

    @property
    def period(self) -> Period:
        return Period(self.cleaned_data["start"], self.cleaned_data["end"])
