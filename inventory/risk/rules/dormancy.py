"""Dormancy (OWASP NHI1): unused identities should be removed, and one that wakes up
after a long sleep is a classic sign of an attacker reusing it."""

from inventory.models.risk import Severity
from inventory.risk.registry import AC2, CC62, CSF, ISO_518, rule


@rule("dormancy.dormant", 9, "Dormant", "NHI1", Severity.MEDIUM,
      frameworks=(CSF, "NIST SP 800-53 AC-2(3)", ISO_518, CC62),
      remedy="Confirm with the owner, then disable and remove it.")
def dormant(b, policy) -> str:
    """Not used within the dormancy threshold (90 days by default); never used counts
    where the source reports use at all."""
    return "f.is_dormant = 1"


@rule("dormancy.reactivated", 10, "Used again after being dormant", "NHI1", Severity.HIGH,
      frameworks=(CSF, AC2, CC62),
      remedy="Confirm with the owner that the use was expected; if not, treat the "
             "credential as compromised and rotate it.")
def reactivated(b, policy) -> str:
    """An identity that was dormant has been used again within the reactivation window
    (30 days by default): unused 90+ days, then used."""
    return f"f.reactivated_at >= {b.ago(policy.reactivation_window_days)}"
