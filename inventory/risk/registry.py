"""The rules registry. A rule is a boolean SQL condition over one row of the facts query
(alias `f`, see `inventory.risk.facts`) with its code, title, OWASP NHI id, severity and
framework references. Rules are declared in the family modules of `inventory.risk.rules`
with `@rule(...)`; the engine evaluates all of them in one pass over the register.

Each rule owns a fixed `bit` in the identity's risk mask (IdentityRisk.mask). Bits are
never reused: retiring a rule leaves its bit unused, so stored masks stay meaningful.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from inventory.models.risk import Severity

# Framework references (DESIGN.md: evidence maps to these).
CSF = "NIST CSF 2.0 PR.AA"
AC2, AC2_3, AC2_7, AC6, IA4, IA5 = (f"NIST SP 800-53 {c}" for c in
                                    ("AC-2", "AC-2(3)", "AC-2(7)", "AC-6", "IA-4", "IA-5"))
PCI_822, PCI_861, PCI_862, PCI_863 = (f"PCI DSS 4.0.1 {c}" for c in
                                      ("8.2.2", "8.6.1", "8.6.2", "8.6.3"))
ISO_516, ISO_518 = "ISO/IEC 27001:2022 5.16", "ISO/IEC 27001:2022 5.18"
CC61, CC62, CC63 = "SOC 2 CC6.1", "SOC 2 CC6.2", "SOC 2 CC6.3"

OWASP_TITLES = {
    "NHI1": "Improper offboarding",
    "NHI2": "Secret leakage",
    "NHI3": "Vulnerable third-party NHI",
    "NHI4": "Insecure authentication",
    "NHI5": "Overprivileged NHI",
    "NHI6": "Insecure cloud deployment configuration",
    "NHI7": "Long-lived secrets",
    "NHI8": "Environment isolation",
    "NHI9": "NHI reuse",
    "NHI10": "Human use of NHI",
}

Condition = Callable[..., str]  # (builder, policy) -> SQL boolean over alias f


@dataclass(frozen=True)
class Rule:
    code: str
    bit: int
    family: str
    title: str
    owasp: str
    severity: str
    condition: Condition = field(repr=False, compare=False)
    frameworks: tuple[str, ...] = ()
    description: str = ""
    remedy: str = ""
    # Puts the identity in the seed-003 "high-risk" class (admin or broad access scope).
    high_risk: bool = False

    @property
    def mask(self) -> int:
        return 1 << self.bit

    @property
    def owasp_title(self) -> str:
        return OWASP_TITLES.get(self.owasp, "")


_RULES: dict[str, Rule] = {}
_BITS: dict[int, str] = {}


def rule(code: str, bit: int, title: str, owasp: str, severity: str, *, frameworks=(),
         remedy: str = "", high_risk: bool = False):
    """Declare the decorated `condition(b, policy) -> SQL` as a rule. Its docstring is
    the rule's description."""
    if not 0 <= bit <= 62:
        raise ValueError(f"rule {code}: bit {bit} outside 0..62")
    if severity not in Severity.values:
        raise ValueError(f"rule {code}: unknown severity {severity}")

    def register(condition: Condition) -> Condition:
        if code in _RULES or bit in _BITS:
            raise ValueError(f"rule {code}: code or bit {bit} already registered")
        family = condition.__module__.rsplit(".", 1)[-1]
        description = " ".join((condition.__doc__ or "").split())
        _RULES[code] = Rule(code, bit, family, title, owasp, severity, condition,
                            tuple(frameworks), description, remedy, high_risk)
        _BITS[bit] = code
        return condition

    return register


def _load() -> None:
    from inventory.risk import rules  # noqa: F401  (importing declares every rule)


def all_rules() -> list[Rule]:
    _load()
    return sorted(_RULES.values(), key=lambda r: r.bit)


def get_rule(code: str) -> Rule | None:
    _load()
    return _RULES.get(code)


def rule_choices() -> list[tuple[str, str]]:
    return [(r.code, f"{r.title} ({r.code})") for r in all_rules()]


def owasp_choices() -> list[tuple[str, str]]:
    return [(k, f"{k} {v}") for k, v in OWASP_TITLES.items()]
