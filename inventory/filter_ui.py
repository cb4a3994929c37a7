"""What the register page shows about its filters: the select controls with their options,
and the chips naming the filters in force."""

from __future__ import annotations

from inventory.filtersets import IdentityFilterSet

# Filters shown as selects in the bar, then under "More filters"; others are typed inputs.
MAIN_SELECTS = ["kind", "provider", "environment", "zone", "status"]
MORE_SELECTS = ["source", "privilege", "team", "auth_method"]
YES_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]


def _choices(field) -> list[tuple[str, str]]:
    if hasattr(field, "queryset"):
        key = field.to_field_name
        return [(str(getattr(obj, key)), str(obj)) for obj in field.queryset]
    return [(str(v), str(label)) for v, label in field.choices]


def filter_controls(fs: IdentityFilterSet) -> dict:
    """Select controls for the filter bar, each with its options and current values."""
    data = fs.data

    def control(name: str) -> dict:
        field = fs.form.fields[name]
        return {"name": name, "label": field.label or name.replace("_", " ").title(),
                "choices": _choices(field), "selected": data.getlist(name)}

    return {
        "main": [control(n) for n in MAIN_SELECTS],
        "more": [control(n) for n in MORE_SELECTS],
        "yes_no": YES_NO,
    }


def active_chips(fs: IdentityFilterSet) -> list[str]:
    """Human-readable labels of the filters in force, shown above the table."""
    if not fs.is_valid():
        return []
    chips = []
    for name, value in fs.form.cleaned_data.items():
        if value is None or value == "" or (hasattr(value, "__len__") and not len(value)):
            continue
        field = fs.form.fields[name]
        shown = dict(getattr(field, "choices", []) or [])
        if isinstance(value, list | tuple) or hasattr(value, "model"):
            value = ", ".join(str(shown.get(v, v)) for v in value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        chips.append(f"{field.label}: {value}")
    return chips
