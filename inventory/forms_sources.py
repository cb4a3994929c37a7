"""Forms of the sources pages: create/edit a source, and decide a held run.

Validation rules are shared with the API (inventory.source_config): config is a JSON
object the connector accepts and holds no secret; the schedule is a five-field cron.
"""

from __future__ import annotations

import json

from django import forms

from inventory.models import Source
from inventory.source_config import clean_schedule, config_problems, connector_choices

CONFIG_MAX_CHARS = 20_000


class SourceForm(forms.ModelForm):
    """Create or edit a discovery source (admins). The kind is fixed once created: its
    identities and their external ids belong to that kind of connector."""

    kind = forms.ChoiceField(choices=(), help_text="Which connector reads this source.")
    config = forms.CharField(
        label="Configuration (JSON)", required=False, max_length=CONFIG_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "mono"}),
        help_text="A JSON object of the connector's parameters (listed on the source's "
                  "page). Never a secret: name the environment variable or mounted file "
                  "that holds it (e.g. \"token_file\").",
    )
    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.TextInput(),
        help_text="Why the change is made; recorded in the audit log.",
    )

    class Meta:
        model = Source
        fields = ["name", "kind", "config", "schedule", "enabled", "missing_threshold"]
        labels = {"missing_threshold": "Missing threshold"}
        help_texts = {
            "schedule": "Cron, five fields in UTC: minute hour day-of-month month "
                        "day-of-week, e.g. '0 * * * *' (hourly) or '30 2 * * 1-5'. "
                        "Empty = manual runs only.",
            "missing_threshold": "Share (0–1) of the source's identities that may go "
                                 "missing in one run before the run is held for review.",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["kind"]  # fixed once created; the page shows it as text
        else:
            self.fields["kind"].choices = connector_choices()
        self.initial["config"] = json.dumps(self.instance.config or {}, indent=2, sort_keys=True)
        self.fields["missing_threshold"].widget.attrs.update(step="0.05", min="0", max="1")
        self.fields["schedule"].widget.attrs.update(placeholder="0 * * * *", **{"class": "mono"})

    def clean_config(self) -> dict:
        text = (self.cleaned_data.get("config") or "").strip() or "{}"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("Give a JSON object, e.g. {\"region\": \"eu-west-1\"}.")
        return value

    def clean_schedule(self) -> str:
        try:
            return clean_schedule(self.cleaned_data.get("schedule", ""))
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_missing_threshold(self) -> float:
        value = self.cleaned_data["missing_threshold"]
        if not 0 <= value <= 1:
            raise forms.ValidationError("Give a share between 0 and 1 (e.g. 0.2).")
        return value

    def clean(self) -> dict:
        data = super().clean()
        kind = self.instance.kind if self.instance.pk else data.get("kind")
        if "config" in data and kind:
            for problem in config_problems(kind, data["config"]):
                self.add_error("config", problem)
        return data


class HeldRunForm(forms.Form):
    """Confirm (apply the missing marking) or discard a held run, with a reason."""

    decision = forms.ChoiceField(choices=[("confirm", "Confirm"), ("discard", "Discard")])
    reason = forms.CharField(
        max_length=2000, widget=forms.TextInput(attrs={"placeholder": "Why? (audit log)"}),
        error_messages={"required": "Give a reason: it is recorded in the audit log."},
    )
