"""Secret leakage (OWASP NHI2): scanner reports matched to a credential still active."""

from inventory.models.risk import Severity
from inventory.risk.registry import CC61, CSF, IA5, PCI_862, rule


@rule("leak.scanner_match", 29, "Secret found in code or logs", "NHI2", Severity.CRITICAL,
      frameworks=(CSF, IA5, PCI_862, CC61), high_risk=True,
      remedy="Revoke and rotate the credential now; then remove it from the repository "
             "history.")
def scanner_match(b, policy) -> str:
    """A secret scanner (gitleaks, trufflehog) reported this credential's secret, and
    the credential is still active."""
    return "f.leaked > 0"
