"""The lifecycle and zone policy: parsed from versioned YAML (PolicyVersion), with the
defaults of DESIGN.md in `default_policy.yaml`.

`parse(text)` returns a `Policy` or raises `PolicyError` naming each bad line;
`current()` is the policy in force (the newest version, or the default file before
anyone has saved one); `save_version()` validates, stores and audits a new version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import transaction
from django.db.models import Max

from inventory.models.risk import PolicyVersion
from inventory.risk import policy_schema as schema
from inventory.risk.policy_schema import Checker, PolicyError, Problem
from nhigov.lib.audit import Actor, Change, record

DEFAULT_FILE = Path(__file__).with_name("default_policy.yaml")
TOP_LEVEL = ("version", "defaults", "classes", "dormancy", "break_glass", "offboarding", "ci",
             "rules", "zones")

__all__ = ["Policy", "PolicyError", "Problem", "current", "parse", "save_version"]


@dataclass(frozen=True)
class PolicyClass:
    """A class of identities (by kind, privilege, ...) with the settings it overrides."""

    name: str
    match: dict[str, tuple[str, ...]]
    values: dict[str, int | None]


@dataclass(frozen=True)
class ZoneRule:
    zone: str
    match: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class ZoneException:
    zone: str
    identity: str | None
    name: str | None
    approver: str
    reason: str
    expires: dt.date


@dataclass(frozen=True)
class Policy:
    """Everything the rules read from the policy document."""

    defaults: dict[str, int | None]
    classes: tuple[PolicyClass, ...] = ()
    reactivation_window_days: int = 30
    never_used_providers: tuple[str, ...] = ()
    break_glass_tags: tuple[str, ...] = ()
    break_glass_window_hours: int = 24
    # Days an identity may stay active after a review asked for its removal (NHI1).
    deprovision_grace_days: int = 14
    ci_patterns: tuple[str, ...] = ()
    disabled: frozenset[str] = frozenset()
    severity: dict[str, str] = field(default_factory=dict)
    place: tuple[ZoneRule, ...] = ()
    reach: tuple[ZoneRule, ...] = ()
    exceptions: tuple[ZoneException, ...] = ()
    number: int | None = None

    def tiers(self, key: str) -> tuple[list[tuple[dict, int | None]], int | None]:
        """([(match, value), ...], default): what a CASE expression needs to give each
        identity its own value of `key`. The first matching class decides, with the
        default for keys it leaves out; no class setting `key` means one value for all."""
        default = self.defaults.get(key)
        if not any(key in c.values for c in self.classes):
            return [], default
        return [(c.match, c.values.get(key, default)) for c in self.classes], default

    def severity_of(self, code: str, default: str) -> str:
        return self.severity.get(code, default)


def _defaults(check: Checker, node) -> dict[str, int | None]:
    items = check.mapping(node, "defaults", tuple(schema.SETTINGS))
    for key in schema.SETTINGS:
        if key not in items and isinstance(node, yaml.MappingNode):
            check.fail(node, f"defaults needs `{key}`")
    return {k: check.days(v, k) for k, v in items.items()}


def _class(check: Checker, node, where: str) -> PolicyClass | None:
    items = check.mapping(node, where, tuple(schema.SETTINGS) + ("name", "match"))
    name = check.scalar(items["name"], "name") if "name" in items else where
    if "match" not in items:
        if isinstance(node, yaml.MappingNode):
            check.fail(node, f"{where} needs `match`")
        return None
    match = schema.match_block(check, items["match"], f"{where} match", schema.CLASS_MATCH)
    values = {k: check.days(v, k) for k, v in items.items() if k in schema.SETTINGS}
    return PolicyClass(name or where, match, values)


def _zone_rule(keys: tuple):
    def build(check: Checker, node, where: str) -> ZoneRule | None:
        items = check.mapping(node, where, ("zone", *keys))
        if "zone" not in items:
            if isinstance(node, yaml.MappingNode):
                check.fail(node, f"{where} needs `zone`")
            return None
        zone = check.strings(items.pop("zone"), "zone", schema.CHOICES["zone"])
        if not items and isinstance(node, yaml.MappingNode):
            check.fail(node, f"{where} needs at least one condition besides `zone`")
        match = {}
        for key, value in items.items():
            choices = schema.CHOICES.get(key) if key in ("provider", "kind", "privilege") \
                else None
            match[key] = check.strings(value, key, choices)
        return ZoneRule(zone[0], match) if zone else None

    return build


def _zones(check: Checker, node, policy: dict) -> None:
    items = check.mapping(node, "zones", ("place", "reach", "exceptions"))
    if "place" in items:
        policy["place"] = schema.entries(check, items["place"], "zones.place",
                                         _zone_rule(schema.PLACE_MATCH))
    if "reach" in items:
        policy["reach"] = schema.entries(check, items["reach"], "zones.reach",
                                         _zone_rule(schema.REACH_MATCH))
    if "exceptions" in items:
        found = schema.entries(check, items["exceptions"], "zones.exceptions",
                               schema.exception_entry)
        policy["exceptions"] = [ZoneException(**e) for e in found
                                if all(e.get(k) for k in ("zone", "approver", "reason",
                                                          "expires"))]


def _small_sections(check: Checker, items: dict, policy: dict, known_rules) -> None:
    if "dormancy" in items:
        sub = check.mapping(items["dormancy"], "dormancy",
                            ("reactivation_window_days", "never_used_providers"))
        if "never_used_providers" in sub:
            policy["never_used_providers"] = check.strings(
                sub["never_used_providers"], "never_used_providers", schema.CHOICES["provider"])
        if "reactivation_window_days" in sub:
            policy["reactivation_window_days"] = check.number(
                sub["reactivation_window_days"], "reactivation_window_days", 1, 365)
    if "break_glass" in items:
        sub = check.mapping(items["break_glass"], "break_glass", ("tags", "window_hours"))
        if "tags" in sub:
            policy["break_glass_tags"] = check.strings(sub["tags"], "tags")
        if "window_hours" in sub:
            policy["break_glass_window_hours"] = check.number(sub["window_hours"],
                                                              "window_hours", 1, 8760)
    if "offboarding" in items:
        sub = check.mapping(items["offboarding"], "offboarding", ("grace_days",))
        if "grace_days" in sub:
            policy["deprovision_grace_days"] = check.number(sub["grace_days"], "grace_days",
                                                            0, 365)
    if "ci" in items:
        sub = check.mapping(items["ci"], "ci", ("name_patterns",))
        if "name_patterns" in sub:
            policy["ci_patterns"] = check.strings(sub["name_patterns"], "name_patterns")
    if "rules" in items:
        _rules_section(check, items["rules"], policy, known_rules)


def _rules_section(check: Checker, node, policy: dict, known_rules) -> None:
    sub = check.mapping(node, "rules", ("disabled", "severity"))
    if "disabled" in sub:
        codes = [] if schema._is_null(sub["disabled"]) or (
            isinstance(sub["disabled"], yaml.SequenceNode) and not sub["disabled"].value) \
            else check.strings(sub["disabled"], "disabled", known_rules)
        policy["disabled"] = frozenset(codes)
    if "severity" in sub and not schema._is_null(sub["severity"]):
        levels = check.mapping(sub["severity"], "rules.severity", known_rules)
        policy["severity"] = {code: v[0] for code, node in levels.items()
                              if (v := check.strings(node, "severity",
                                                     schema.CHOICES["severity"]))}


def parse(text: str, number: int | None = None) -> Policy:
    """The policy a YAML document describes; PolicyError lists every problem found."""
    from inventory.risk.registry import all_rules

    root = schema.compose(text)
    check = Checker()
    if root is None:
        raise PolicyError([Problem(1, "the document is empty")])
    items = check.mapping(root, "the document", TOP_LEVEL)
    policy: dict = {"defaults": {}}
    if "defaults" not in items:
        check.fail(root, "the document needs a `defaults` section")
    else:
        policy["defaults"] = _defaults(check, items["defaults"])
    if "classes" in items:
        found = schema.entries(check, items["classes"], "classes", _class)
        policy["classes"] = tuple(c for c in found if c)
    known = tuple(r.code for r in all_rules())
    _small_sections(check, items, policy, known)
    if "zones" in items:
        _zones(check, items["zones"], policy)
    if check.problems:
        raise PolicyError(sorted(check.problems, key=lambda p: p.line))
    for key in ("place", "reach", "exceptions", "ci_patterns", "break_glass_tags"):
        if key in policy:
            policy[key] = tuple(x for x in policy[key] if x)
    return Policy(number=number, **policy)


def default_document() -> str:
    return DEFAULT_FILE.read_text()


def current_version() -> PolicyVersion | None:
    return PolicyVersion.objects.order_by("-number").first()


def current() -> Policy:
    """The policy in force: the newest saved version, else the default file."""
    version = current_version()
    if version is None:
        return parse(default_document())
    return parse(version.document, version.number)


def save_version(text: str, actor: Actor, reason: str, author=None) -> PolicyVersion:
    """Validate and store a new version (audited); raises PolicyError when invalid."""
    if not reason.strip():
        raise PolicyError([Problem(1, "a reason is required for every policy change")])
    parse(text)
    with transaction.atomic():
        before = current_version()
        number = (PolicyVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        version = PolicyVersion.objects.create(
            number=number, document=text, author=author, author_label=actor.label,
            reason=reason.strip())
        record(actor, Change("policy.update", "policy", str(number), f"policy v{number}",
                             {"version": before.number if before else None},
                             {"version": number}), reason.strip())
    return version


def ensure_saved(actor: Actor | None = None) -> PolicyVersion:
    """Version 1 from the default file when no version exists yet (first evaluation)."""
    version = current_version()
    if version is not None:
        return version
    actor = actor or Actor.system("risk-policy")
    return save_version(default_document(), actor, "Default policy (DESIGN.md)")
