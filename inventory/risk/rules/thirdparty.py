"""Third parties (OWASP NHI3): identities held by vendors and SaaS, and their grants."""

from inventory.models.risk import Severity
from inventory.risk.registry import AC6, CC61, CSF, rule

REFS = (CSF, AC6, "NIST SP 800-53 SA-9", CC61)


def _vendor(b) -> str:
    return "(f.provider = 'saas' OR f.j_ext_accounts > 0)"


@rule("thirdparty.vendor_access", 21, "Held by a third party", "NHI3", Severity.LOW,
      frameworks=REFS, remedy="Review the vendor's grants and scopes with its owner.")
def vendor_access(b, policy) -> str:
    """A vendor or SaaS holds this identity (SaaS provider, or an AWS role trusting an
    external account) with read access only."""
    return f"{_vendor(b)} AND f.privilege NOT IN ('write', 'admin')"


@rule("thirdparty.vendor_write", 22, "Third party with write or admin access", "NHI3",
      Severity.HIGH, frameworks=REFS,
      remedy="Reduce the vendor's grants to what the integration needs; add an "
             "ExternalId condition to cross-account trust.")
def vendor_write(b, policy) -> str:
    """A vendor or SaaS holds this identity with write or admin privilege."""
    return f"{_vendor(b)} AND f.privilege IN ('write', 'admin')"
