"""Privilege (OWASP NHI5, overprivileged NHI): admin, wildcard and cluster-admin grants."""

from inventory.models.risk import Severity
from inventory.risk.registry import AC6, CC63, CSF, rule

REFS = (CSF, AC6, "NIST SP 800-53 AC-2(7)", CC63)
WILDCARD_GRANTS = ("*cluster-admin*", "*administratoraccess*", "*all verbs on all*")


@rule("privilege.admin", 14, "Admin privilege", "NHI5", Severity.HIGH, frameworks=REFS,
      high_risk=True, remedy="Replace admin grants with the permissions the workload uses.")
def admin(b, policy) -> str:
    """The identity holds admin privilege (can change permissions or read every secret)."""
    return "f.privilege = 'admin'"


@rule("privilege.wildcard", 15, "Wildcard or cluster-admin grant", "NHI5", Severity.CRITICAL,
      frameworks=REFS, high_risk=True,
      remedy="Remove the wildcard grant; scope actions and resources explicitly.")
def wildcard(b, policy) -> str:
    """A grant gives everything: AdministratorAccess, cluster-admin, all verbs on all
    resources, or a Vault root token."""
    grants = b.like_any("f.grants", WILDCARD_GRANTS, lowered=True)
    return f"({grants} OR f.j_root = 1)"


@rule("privilege.unknown", 16, "Privilege not assessed", "NHI5", Severity.LOW,
      frameworks=REFS, remedy="Give the discovery account read access to the policies.")
def unknown(b, policy) -> str:
    """The source did not let discovery read what the identity may do."""
    return "f.privilege = 'unknown' AND f.kind <> 'certificate'"
