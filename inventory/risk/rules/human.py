"""Human use of machine identities (OWASP NHI10)."""

from inventory.models.risk import Severity
from inventory.risk.registry import AC2, CC61, CSF, PCI_861, rule

REFS = (CSF, AC2, PCI_861, CC61)


@rule("human.interactive_login", 25, "Interactive login enabled", "NHI10", Severity.HIGH,
      frameworks=REFS, remedy="Remove the console password or SSO access; machines need none.")
def interactive_login(b, policy) -> str:
    """The identity can sign in interactively (console password, SAML or OIDC login)."""
    return "f.interactive_login"


@rule("human.console_used", 26, "Signed in by a person", "NHI10", Severity.HIGH,
      frameworks=REFS, remedy="Find who signs in with it; give them their own account.")
def console_used(b, policy) -> str:
    """The identity's console password has been used: a person is signing in with it."""
    return "(f.password_used IS NOT NULL OR (f.j_pwd_used IS NOT NULL AND f.j_pwd_used <> ''))"


@rule("human.human_traits", 27, "Looks like a person's account", "NHI10", Severity.MEDIUM,
      frameworks=REFS, remedy="Confirm it is a machine identity; move people to SSO.")
def human_traits(b, policy) -> str:
    """Human-looking signs: an MFA device registered, or an e-mail address as its name."""
    return f"(COALESCE(f.j_mfa, 0) > 0 OR (f.kind <> 'certificate' AND " \
           f"{b.like_any('f.name', ['*@*.*'])}))"
