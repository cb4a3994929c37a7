"""Authentication and deployment configuration (OWASP NHI4, NHI6): static secrets where
federation is possible, CI with static keys, trust without a subject condition."""

from inventory.models.risk import Severity
from inventory.risk.registry import CC61, CSF, IA5, ISO_516, rule

REFS = (CSF, IA5, ISO_516, CC61)
FEDERATION_POSSIBLE = ("aws", "kubernetes", "vault")


@rule("auth.static_secret", 17, "Long-lived static secret", "NHI4", Severity.MEDIUM,
      frameworks=REFS,
      remedy="Use workload federation (OIDC, IRSA, projected tokens) instead of a secret.")
def static_secret(b, policy) -> str:
    """Authenticates with a long-lived static secret on a platform that offers workload
    federation or short-lived tokens (AWS, Kubernetes, Vault)."""
    return f"f.auth_method = 'static_secret' AND {b.in_list('f.provider', FEDERATION_POSSIBLE)}"


@rule("config.oidc_unrestricted", 18, "Federated trust without a subject condition", "NHI6",
      Severity.CRITICAL, frameworks=REFS, high_risk=True,
      remedy="Add a `sub` (or bound claims) condition naming the exact repository, branch "
             "or service account.")
def oidc_unrestricted(b, policy) -> str:
    """An OIDC/JWT trust (AWS role trust policy, Vault JWT or Kubernetes auth role) lets
    any token of the issuer in: no subject or claim binding."""
    return "(f.j_oidc_open = 1 OR f.j_unbounded = 1)"


@rule("config.anyone_can_assume", 19, "Anyone may assume the role", "NHI6", Severity.CRITICAL,
      frameworks=REFS, high_risk=True,
      remedy="Name the principals allowed to assume the role; never Principal \"*\".")
def anyone_can_assume(b, policy) -> str:
    """The role's trust policy allows any AWS principal ("*")."""
    return "f.j_anyone = 1"


@rule("config.ci_static_keys", 20, "CI/CD pipeline using static keys", "NHI6", Severity.HIGH,
      frameworks=REFS,
      remedy="Let the pipeline federate (e.g. GitHub OIDC to an AWS role) instead.")
def ci_static_keys(b, policy) -> str:
    """A CI/CD identity (by name or workload, per the policy's patterns) authenticates
    with a static secret."""
    if not policy.ci_patterns:
        return "1 = 0"
    named = b.like_any("f.name", policy.ci_patterns)
    workload = b.like_any("f.workload", policy.ci_patterns)
    return f"f.auth_method = 'static_secret' AND ({named} OR {workload})"
