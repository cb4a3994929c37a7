"""Environment isolation and reuse (OWASP NHI8, NHI9)."""

from inventory.models.risk import Severity
from inventory.risk.registry import AC2, CC61, CSF, IA4, PCI_822, rule


@rule("environment.multi_env", 23, "Used in several environments", "NHI8", Severity.HIGH,
      frameworks=(CSF, AC2, CC61),
      remedy="Issue one credential per environment; production's never leaves production.")
def multi_env(b, policy) -> str:
    """The same credential (by fingerprint) is held by identities in more than one
    environment, e.g. a production certificate or key also used in staging."""
    return "f.multi_env = 1"


@rule("reuse.shared", 24, "Shared by several workloads", "NHI9", Severity.MEDIUM,
      frameworks=(CSF, IA4, PCI_822, CC61),
      remedy="Give each workload its own identity, so access can be revoked one by one.")
def shared(b, policy) -> str:
    """One identity or key serves several workloads: the same key fingerprint held by
    several identities, a role attached to several instance profiles, or several
    workloads recorded."""
    return f"(f.reused = 1 OR f.j_profiles > 1 OR {b.like_any('f.workload', ['*,*', '*;*'])})"
