"""Zones: each identity has a home zone (access, management, compute, storage); reaching
another zone needs an approved, expiring exception (policy `zones.exceptions`)."""

from inventory.models.risk import Severity
from inventory.risk.facts import zone_bit
from inventory.risk.registry import AC6, CC61, CSF, rule


@rule("zones.cross_zone", 28, "Reaches another zone", "NHI5", Severity.HIGH,
      frameworks=(CSF, AC6, "NIST SP 800-53 AC-4", CC61), high_risk=True,
      remedy="Remove the grants that reach the other zone, or record an approved, "
             "expiring exception in the policy.")
def cross_zone(b, policy) -> str:
    """The identity's grants reach a zone other than its home zone, and no unexpired
    exception covers that zone."""
    home = zone_bit("f.home_zone")
    return f"f.home_zone <> '' AND (f.reach & ~{home} & ~f.exc_bits) <> 0"
