"""Forms for editing the register: one identity, or many at once."""

from __future__ import annotations

import uuid

from django import forms
from django.db.models import Q

from inventory.choices import Zone
from inventory.models import Environment, Identity
from ownership.models import Person, Team

REASON_HELP = "Recorded in the audit log with your name, the time, and before/after values."


class PersonByEmailField(forms.ModelChoiceField):
    """A person entered by email address (a select of 20,000 people helps nobody)."""

    widget = forms.EmailInput(attrs={"list": "people-emails", "autocomplete": "off"})
    default_error_messages = {
        "invalid_choice": "No person with this email. Add them under People first."
    }

    def __init__(self, **kwargs):
        super().__init__(queryset=Person.objects.all(), to_field_name="email", **kwargs)

    def to_python(self, value):
        email = (value or "").strip()
        if not email:
            return None
        # Addresses from sources keep their case; match the way people type them.
        person = Person.objects.filter(email__iexact=email).first()
        if person is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], "invalid_choice")
        return person

    def prepare_value(self, value):
        if isinstance(value, int):
            return Person.objects.filter(pk=value).values_list("email", flat=True).first()
        return super().prepare_value(value)


class TagsField(forms.CharField):
    """Tags typed as a comma-separated list, stored as a JSON list."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        seen: dict[str, None] = {}
        for tag in text.split(","):
            if tag.strip():
                seen[tag.strip()[:64]] = None
        return list(seen)


class IdentityEditForm(forms.ModelForm):
    """Edit the fields people own. A reason is required and goes into the audit log."""

    technical_owner = PersonByEmailField(required=False)
    business_owner = PersonByEmailField(required=False)
    backup_owner = PersonByEmailField(required=False)
    tags = TagsField(required=False, help_text="Comma-separated, e.g. pci, ml-training")
    expires_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                   format="%Y-%m-%dT%H:%M"),
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    class Meta:
        model = Identity
        fields = [
            "technical_owner", "business_owner", "backup_owner", "team", "purpose", "zone",
            "environment", "workload", "change_ticket", "expires_at", "tags",
        ]
        widgets = {"purpose": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["environment"].queryset = Environment.objects.all()

    def clean_purpose(self) -> str:
        # Browsers send textarea line breaks as CRLF; store LF so an untouched purpose is
        # not seen (and audited) as a change.
        return self.cleaned_data["purpose"].replace("\r\n", "\n")

    def clean_expires_at(self):
        # The input shows minutes only; keep the stored value when the minute is unchanged.
        value, stored = self.cleaned_data["expires_at"], self.instance.expires_at
        if value and stored and value == stored.replace(second=0, microsecond=0):
            return stored
        return value

    def changes(self) -> dict:
        """The edited fields as field -> new value, for inventory.editing.update_identity."""
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class BulkAssignForm(forms.Form):
    """Assign one owner, team or zone to selected rows or to every row matching a filter."""

    # Must match inventory.editing.BULK_FIELDS.
    FIELD_CHOICES = [
        ("technical_owner", "Technical owner"),
        ("business_owner", "Business owner"),
        ("backup_owner", "Backup owner"),
        ("team", "Team"),
        ("zone", "Zone"),
    ]
    field = forms.ChoiceField(choices=FIELD_CHOICES)
    value = forms.CharField(
        max_length=254, help_text="Person email, team name or zone (access, management, ...)."
    )
    scope = forms.ChoiceField(choices=[("selected", "Selected rows"), ("all", "All matching")])
    selected = forms.TypedMultipleChoiceField(required=False, coerce=str, choices=[])
    filter_query = forms.CharField(required=False)
    reason = forms.CharField(max_length=2000, help_text=REASON_HELP)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Selected codes are validated as UUID strings in clean_selected, not as choices.
        self.fields["selected"].valid_value = lambda value: True

    def clean_selected(self) -> list[str]:
        codes = []
        for raw in self.cleaned_data.get("selected") or []:
            try:
                codes.append(str(uuid.UUID(raw)))
            except ValueError:
                raise forms.ValidationError("A selected row is not a valid identity.") from None
        return codes

    def clean(self):
        data = super().clean()
        if data.get("scope") == "selected" and not data.get("selected"):
            raise forms.ValidationError("Select at least one identity, or choose all matching.")
        if data.get("field") and data.get("value"):
            data["resolved"] = self._resolve(data["field"], data["value"].strip())
        return data

    def _resolve(self, field: str, value: str):
        if field == "zone":
            if value.lower() not in Zone.values:
                raise forms.ValidationError(f"Unknown zone {value!r}; use one of {Zone.values}.")
            return value.lower()
        if field == "team":
            team = Team.objects.filter(Q(slug__iexact=value) | Q(name__iexact=value)).first()
            if team is None:
                raise forms.ValidationError(f"No team named {value!r}.")
            return team
        person = Person.objects.filter(email__iexact=value).first()
        if person is None:
            raise forms.ValidationError(f"No person with email {value!r}.")
        return person
