"""Validation of the policy document, walking the YAML node tree so that every problem
is reported with the line it is on ("line 12: rotation_days must be a whole number ...").

The document is composed (not loaded) with the safe loader, checked node by node, and
turned into plain Python values only once it is known to be valid.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from inventory.choices import AuthMethod, IdentityKind, Privilege, Provider, Zone
from inventory.models.risk import Severity

SETTINGS: dict[str, tuple[int, int, bool]] = {  # key: (lowest, highest, may be null)
    "rotation_days": (1, 3650, True),
    "max_lifetime_days": (1, 36500, True),
    "dormant_days": (1, 3650, False),
    "review_days": (1, 3650, True),
    "cert_warning_days": (0, 3650, False),
    "min_rsa_bits": (512, 16384, False),
    "min_ecc_bits": (128, 1024, False),
}
CHOICES = {
    "kind": IdentityKind.values, "privilege": Privilege.values, "provider": Provider.values,
    "auth_method": AuthMethod.values, "zone": Zone.values, "severity": Severity.values,
}
CLASS_MATCH = ("kind", "privilege", "provider", "auth_method", "environment")
PLACE_MATCH = ("provider", "kind", "source", "account", "namespace", "path", "name",
               "environment")
REACH_MATCH = ("grant", "privilege", "kind", "provider")
SLUG = re.compile(r"^[-a-z0-9_]+$")


@dataclass
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class PolicyError(ValueError):
    """The document was refused; `problems` name each line and reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class Checker:
    """Collects problems while walking the node tree."""

    def __init__(self):
        self.problems: list[Problem] = []

    def fail(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(node.start_mark.line + 1, message))

    def mapping(self, node, where: str, allowed: tuple | dict) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{where} must be a mapping of keys to values")
            return {}
        items: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in allowed:
                self.fail(key, f"unknown key {name!r} in {where} "
                               f"(expected one of: {', '.join(allowed)})")
            elif name in items:
                self.fail(key, f"{name!r} is given twice in {where}")
            else:
                items[name] = value
        return items

    def sequence(self, node, where: str) -> list[yaml.Node]:
        if _is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{where} must be a list")
            return []
        return list(node.value)

    def scalar(self, node, where: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or _is_null(node):
            self.fail(node, f"{where} must be a single value")
            return None
        return str(node.value).strip()

    def days(self, node, key: str) -> int | None:
        low, high, nullable = SETTINGS[key]
        if _is_null(node) and nullable:
            return None
        value = node.value if isinstance(node, yaml.ScalarNode) else None
        if value is None or not re.fullmatch(r"\d+", str(value)) or not \
                low <= int(value) <= high:
            extra = " or null" if nullable else ""
            self.fail(node, f"{key} must be a whole number from {low} to {high}{extra}")
            return None
        return int(value)

    def number(self, node, key: str, low: int, high: int) -> int:
        value = node.value if isinstance(node, yaml.ScalarNode) else None
        if value is None or not re.fullmatch(r"\d+", str(value)) or not low <= int(value) <= high:
            self.fail(node, f"{key} must be a whole number from {low} to {high}")
            return low
        return int(value)

    def strings(self, node, key: str, choices: list | None = None) -> tuple[str, ...]:
        """One value or a list of values, each checked against `choices` when given."""
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        values = []
        for item in nodes:
            text = self.scalar(item, key)
            if text is None:
                continue
            if not text:
                self.fail(item, f"{key} may not be empty")
            elif choices is not None and text not in choices:
                self.fail(item, f"{text!r} is not a valid {key} "
                                f"(expected one of: {', '.join(choices)})")
            else:
                values.append(text)
        if not nodes:
            self.fail(node, f"{key} needs at least one value")
        return tuple(values)

    def date(self, node, key: str) -> dt.date | None:
        text = self.scalar(node, key)
        try:
            return dt.date.fromisoformat(text or "")
        except ValueError:
            self.fail(node, f"{key} must be a date like 2026-06-30")
            return None


def _is_null(node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def compose(text: str) -> yaml.Node | None:
    """The YAML node tree, or PolicyError naming the line of a syntax error."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise PolicyError([Problem(line, f"not valid YAML: {exc.problem or exc}")]) from exc
    except yaml.YAMLError as exc:
        raise PolicyError([Problem(1, f"not valid YAML: {exc}")]) from exc


def match_block(check: Checker, node, where: str, keys: tuple) -> dict[str, tuple[str, ...]]:
    """`{key: value or [values]}` with each key one of `keys`."""
    items = check.mapping(node, where, keys)
    if isinstance(node, yaml.MappingNode) and not node.value:
        check.fail(node, f"{where} needs at least one condition")
    result = {}
    for key, value in items.items():
        choices = CHOICES.get(key)
        if key == "environment":
            values = check.strings(value, key)
            for item in values:
                if not SLUG.match(item):
                    check.fail(value, f"environment {item!r} must be a slug (a-z, 0-9, -, _)")
        else:
            values = check.strings(value, key, choices)
        result[key] = values
    return result


def entries(check: Checker, node, where: str, each: Callable) -> list:
    """Apply `each(check, item_node, label)` to every item of a list."""
    return [each(check, item, f"{where} item {n}")
            for n, item in enumerate(check.sequence(node, where), start=1)]


def exception_entry(check: Checker, node, where: str) -> dict:
    allowed = ("identity", "name", "zone", "approver", "reason", "expires")
    items = check.mapping(node, where, allowed)
    out: dict = {"identity": None, "name": None}
    if "identity" in items:
        text = check.scalar(items["identity"], "identity") or ""
        try:
            out["identity"] = str(uuid.UUID(text))
        except ValueError:
            check.fail(items["identity"], "identity must be an identity's code (a UUID)")
    if "name" in items:
        out["name"] = check.scalar(items["name"], "name")
    if isinstance(node, yaml.MappingNode) and not ("identity" in items or "name" in items):
        check.fail(node, f"{where} needs `identity` (a code) or `name` (a glob)")
    for key in ("zone", "approver", "reason", "expires"):
        if key not in items:
            if isinstance(node, yaml.MappingNode):
                check.fail(node, f"{where} needs `{key}`: an exception is approved, "
                                 "justified and expires")
            continue
        if key == "zone":
            values = check.strings(items[key], "zone", CHOICES["zone"])
            out[key] = values[0] if values else None
        elif key == "expires":
            out[key] = check.date(items[key], "expires")
        else:
            out[key] = check.scalar(items[key], key)
    return out
