"""Shared helpers for the risk tests: evaluate and read back what the rules concluded."""

from __future__ import annotations

from inventory.models import Finding, Identity
from inventory.risk.engine import evaluate_all


def fired(identity: Identity) -> set[str]:
    """Rule codes with a current (open or accepted) finding on the identity."""
    return set(Finding.objects.filter(identity=identity, status__in=["open", "accepted"])
               .values_list("rule", flat=True))


def evaluate_and_fired(identity: Identity) -> set[str]:
    evaluate_all("test")
    return fired(identity)


def finding(identity: Identity, rule: str) -> Finding:
    return Finding.objects.get(identity=identity, rule=rule)
