"""Certificates and keys: expiry warnings and minimum key sizes (RSA 2048, ECC 256)."""

from inventory.models.risk import Severity
from inventory.risk.registry import CC61, CSF, IA5, rule

REFS = (CSF, IA5, "NIST SP 800-53 IA-5(2)", CC61)


@rule("certs.expired", 11, "Certificate expired", "NHI1", Severity.HIGH, frameworks=REFS,
      remedy="Renew the certificate, or remove it where it is no longer served.")
def expired(b, policy) -> str:
    """The certificate's validity has ended while it is still deployed."""
    return f"f.kind = 'certificate' AND f.expires_at < {b.p(b.now)}"


@rule("certs.expiring", 12, "Certificate expiring soon", "NHI7", Severity.MEDIUM,
      frameworks=REFS, remedy="Renew the certificate before it expires.")
def expiring(b, policy) -> str:
    """The certificate expires within the warning window (30 days by default)."""
    now = b.p(b.now)
    return f"f.kind = 'certificate' AND f.expires_at >= {now} AND f.expires_at < f.warn_until"


@rule("keys.weak", 13, "Weak key", "NHI4", Severity.HIGH, frameworks=REFS,
      remedy="Reissue with at least RSA 2048 or ECC 256 bits.")
def weak_key(b, policy) -> str:
    """An active key is shorter than the policy minimum (RSA 2048, ECC 256 bits by
    default) or uses DSA."""
    return ("(f.rsa_min < f.min_rsa OR f.ecc_min < f.min_ecc OR f.dsa_keys > 0 OR "
            "(f.cred_count = 0 AND ((f.j_key_type = 'RSA' AND f.j_key_size < f.min_rsa) OR "
            "(f.j_key_type IN ('EC', 'ECDSA') AND f.j_key_size < f.min_ecc) OR "
            "f.j_key_type = 'DSA')))")
