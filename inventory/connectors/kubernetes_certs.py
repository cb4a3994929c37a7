"""Certificate facts from a TLS secret's `tls.crt` (PEM, leaf first), parsed with
`cryptography`. Only the public certificate is ever looked at: the caller never hands
over `tls.key`, which the API layer drops before anything else sees the secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from inventory.connectors.base import CredentialRecord


class CertificateError(ValueError):
    """tls.crt holds no certificate we can read."""


@dataclass
class CertFacts:
    """The leaf certificate of a chain, reduced to plain values."""

    subject: str
    common_name: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    fingerprint: str  # SHA-256 of the DER, lowercase hex
    key_algorithm: str
    key_size: int | None
    sans: list[str] = field(default_factory=list)
    attributes: dict = field(default_factory=dict)

    def expired(self, now: datetime) -> bool:
        return self.not_after <= now

    def credential(self, now: datetime) -> CredentialRecord:
        return CredentialRecord(
            kind="certificate", external_id=f"sha256:{self.fingerprint}",
            fingerprint=self.fingerprint, created_at_source=self.not_before,
            expires_at=self.not_after, status="expired" if self.expired(now) else "active",
            key_algorithm=self.key_algorithm, key_size=self.key_size,
            attributes={"serial": self.serial, "subject": self.subject, "issuer": self.issuer},
        )


def parse_pem_chain(pem: bytes) -> CertFacts:
    """Facts of the first (leaf) certificate of a PEM bundle; CertificateError if none."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise CertificateError("tls.crt holds no PEM certificate")
    try:
        chain = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise CertificateError(f"tls.crt is not a readable certificate: {exc}") from None
    leaf = chain[0]
    algorithm, size, extra = _key_facts(leaf)
    return CertFacts(
        subject=leaf.subject.rfc4514_string(), common_name=_common_name(leaf.subject),
        issuer=leaf.issuer.rfc4514_string(), serial=format(leaf.serial_number, "x"),
        not_before=leaf.not_valid_before_utc, not_after=leaf.not_valid_after_utc,
        fingerprint=leaf.fingerprint(hashes.SHA256()).hex(), key_algorithm=algorithm,
        key_size=size, sans=_sans(leaf),
        attributes={"chain_length": len(chain), "self_signed": leaf.issuer == leaf.subject,
                    "is_ca": _is_ca(leaf), "signature_algorithm": _sig_name(leaf), **extra},
    )


def _key_facts(cert) -> tuple[str, int | None, dict]:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, {}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.key_size, {"curve": key.curve.name}
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, {}
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, {}
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, {}
    return type(key).__name__, None, {}


def _common_name(name) -> str:
    from cryptography.x509.oid import NameOID

    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _sans(cert) -> list[str]:
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = [str(v) for v in ext.get_values_for_type(x509.DNSName)]
    names += [str(v) for v in ext.get_values_for_type(x509.IPAddress)]
    names += [f"URI:{v}" for v in ext.get_values_for_type(x509.UniformResourceIdentifier)]
    names += [f"email:{v}" for v in ext.get_values_for_type(x509.RFC822Name)]
    return names


def _is_ca(cert) -> bool:
    from cryptography import x509

    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _sig_name(cert) -> str:
    oid = cert.signature_algorithm_oid
    return getattr(oid, "_name", "") or oid.dotted_string


def utcnow() -> datetime:
    return datetime.now(UTC)
