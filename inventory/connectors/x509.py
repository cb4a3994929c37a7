"""X.509 parsing shared by connectors (certificate files, TLS endpoints, Kubernetes TLS
secrets, ...). Public facts only: a private key is recognised by its PEM label and counted,
never decoded, kept or quoted.

* `scan_pem(data)` splits a file's bytes (PEM bundle or a single DER certificate) into
  certificate DER blobs and notes the other PEM blocks by label.
* `parse_certificate(data)` turns one certificate (PEM or DER) into a `CertInfo`;
  `certificates_from_bytes(data)` does so for every certificate of a bundle.
* `CertInfo.as_attributes()` is the JSON-safe dict connectors put in `attributes`;
  `credential_record(info)` is the matching `CredentialRecord`.

Conventions: fingerprints are lowercase SHA-256 hex of the DER, `external_id` is
`sha256:<hex>`; serials are lowercase hex (no padding, no colons); datetimes are UTC.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from inventory.connectors.base import CredentialRecord

_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----(.*?)-----END \1-----", re.S)
_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----")
CERTIFICATE_LABELS = frozenset({"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"})


class X509Error(ValueError):
    """Bytes that are not a usable certificate. The message never quotes the input."""


def is_private_key_label(label: str) -> bool:
    """PRIVATE KEY, RSA/EC/DSA/OPENSSH/ENCRYPTED PRIVATE KEY: all are secrets."""
    return "PRIVATE KEY" in label


@dataclass
class PemScan:
    """What a file holds: certificate DER blobs in file order, and the other blocks."""

    certificates: list[bytes] = field(default_factory=list)
    private_keys: int = 0
    other_labels: list[str] = field(default_factory=list)


def scan_pem(data: bytes) -> PemScan:
    """Certificates in `data` (PEM blocks, or one DER certificate); raise X509Error when
    the bytes are empty, truncated or neither PEM nor DER. Key blocks are only counted."""
    if not data.strip():
        raise X509Error("the file is empty")
    if _looks_der(data):
        return PemScan(certificates=[_der_prefix(data)])
    if b"-----BEGIN " not in data:
        raise X509Error("neither PEM nor DER encoded")
    scan, spans = PemScan(), []
    for number, match in enumerate(_BLOCK.finditer(data), start=1):
        spans.append(match.span())
        label = match.group(1).decode("ascii")
        if is_private_key_label(label):
            scan.private_keys += 1  # the body is never decoded
        elif label in CERTIFICATE_LABELS:
            scan.certificates.append(_decode_certificate(match.group(2), number, label))
        else:
            scan.other_labels.append(label)
    for begin in _BEGIN.finditer(data):
        if not any(start <= begin.start() < end for start, end in spans):
            label = begin.group(1).decode("ascii")
            raise X509Error(f"PEM block {label!r} has no END line (truncated file?)")
    return scan


def _looks_der(data: bytes) -> bool:
    """DER starts with an ASN.1 SEQUENCE; a DER certificate may by chance contain the
    text "-----BEGIN ", so only an exact-length DER element wins over PEM markers."""
    if data[:1] != b"\x30":
        return False
    if b"-----BEGIN " not in data:
        return True
    try:
        return len(_der_prefix(data)) == len(data)
    except X509Error:
        return False


def _decode_certificate(body: bytes, number: int, label: str) -> bytes:
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise X509Error(f"PEM block {number} ({label}) is not valid base64") from None
    # A TRUSTED CERTIFICATE carries OpenSSL trust settings after the certificate itself.
    return _der_prefix(der) if label == "TRUSTED CERTIFICATE" else der


def _der_prefix(der: bytes) -> bytes:
    """The first complete ASN.1 element of `der` (a certificate followed by extra bytes)."""
    if len(der) < 2 or der[0] != 0x30:
        raise X509Error("not a DER certificate")
    length, head = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or len(der) < 2 + count:
            raise X509Error("not a DER certificate")
        length, head = int.from_bytes(der[2:2 + count], "big"), 2 + count
    if len(der) < head + length:
        raise X509Error("the certificate is truncated")
    return der[:head + length]


@dataclass
class CertInfo:
    """The public facts of one certificate."""

    fingerprint_sha256: str
    subject: str
    common_name: str
    organization: str
    organizational_unit: str
    email: str  # the subject's emailAddress attribute
    sans: list[str]
    issuer: str
    issuer_common_name: str
    serial: str
    not_before: datetime
    not_after: datetime
    key_type: str
    key_size: int | None
    curve: str
    signature_algorithm: str
    is_ca: bool
    path_length: int | None
    self_signed: bool
    key_usage: list[str]
    extended_key_usage: list[str]
    subject_key_id: str
    authority_key_id: str

    @property
    def external_id(self) -> str:
        return f"sha256:{self.fingerprint_sha256}"

    @property
    def name(self) -> str:
        """CN, else the first SAN's value, else the subject, else the fingerprint."""
        first_san = self.sans[0].split(":", 1)[-1] if self.sans else ""
        return self.common_name or first_san or self.subject or self.external_id

    @property
    def role(self) -> str:
        if not self.is_ca:
            return "leaf"
        return "root" if self.self_signed else "intermediate"

    def status_at(self, now: datetime) -> str:
        """Credential status: expired, not yet valid (inactive) or active."""
        if self.not_after <= now:
            return "expired"
        return "inactive" if self.not_before > now else "active"

    def as_attributes(self) -> dict:
        """JSON-safe attributes (datetimes as ISO strings)."""
        data = asdict(self)
        data["not_before"] = self.not_before.isoformat()
        data["not_after"] = self.not_after.isoformat()
        data["role"] = self.role
        return data


def parse_certificate(data: bytes) -> CertInfo:
    """One certificate, PEM or DER; with a PEM bundle, its first certificate."""
    certificates = scan_pem(data).certificates
    if not certificates:
        raise X509Error("no certificate in the data")
    return parse_der(certificates[0])


def certificates_from_bytes(data: bytes) -> list[CertInfo]:
    """Every certificate of a PEM bundle (or the one of a DER file), in file order."""
    return [parse_der(der) for der in scan_pem(data).certificates]


def credential_record(info: CertInfo, now: datetime | None = None) -> CredentialRecord:
    """The certificate as a credential: serial, fingerprint, key and validity."""
    return CredentialRecord(
        kind="certificate", external_id=info.serial, fingerprint=info.fingerprint_sha256,
        created_at_source=info.not_before, expires_at=info.not_after,
        status=info.status_at(now or datetime.now(UTC)), key_algorithm=info.key_type,
        key_size=info.key_size,
        attributes={"curve": info.curve, "signature_algorithm": info.signature_algorithm},
    )


def parse_der(der: bytes) -> CertInfo:
    """One DER-encoded certificate; raise X509Error when it cannot be parsed."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
        extensions = _extensions(cert)
        return CertInfo(
            fingerprint_sha256=hashlib.sha256(der).hexdigest(),
            subject=_dn(cert.subject), common_name=_attr(cert.subject, "CN"),
            organization=_attr(cert.subject, "O"),
            organizational_unit=_attr(cert.subject, "OU"),
            email=_attr(cert.subject, "EMAIL"),
            issuer=_dn(cert.issuer), issuer_common_name=_attr(cert.issuer, "CN"),
            serial=_serial_hex(cert.serial_number),
            not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
            signature_algorithm=_oid_name(cert.signature_algorithm_oid),
            self_signed=_self_signed(cert), **_key_details(cert), **extensions,
        )
    except X509Error:
        raise
    except Exception as exc:  # cryptography raises ValueError and friends on bad DER
        raise X509Error(f"the certificate cannot be parsed ({type(exc).__name__})") from None


def _dn(name) -> str:
    """RFC 4514 text, with OpenSSL's emailAddress instead of a bare OID."""
    from cryptography.x509.oid import NameOID

    return name.rfc4514_string({NameOID.EMAIL_ADDRESS: "emailAddress"})


def _attr(name, short: str) -> str:
    """The first value of a name attribute (CN, O, OU, EMAIL), or ""."""
    from cryptography.x509.oid import NameOID

    oid = {"CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME,
           "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "EMAIL": NameOID.EMAIL_ADDRESS}[short]
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def _serial_hex(serial: int) -> str:
    # Plain lowercase hex without padding or colons, as the other connectors write it.
    return format(serial, "x")


def _oid_name(oid) -> str:
    name = getattr(oid, "_name", "")  # cryptography's own names: sha256WithRSAEncryption, ...
    return name if name and name != "Unknown OID" else oid.dotted_string


def _key_details(cert) -> dict:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        oid = getattr(cert, "public_key_algorithm_oid", None)
        return {"key_type": _oid_name(oid) if oid else "unknown", "key_size": None, "curve": ""}
    if isinstance(key, rsa.RSAPublicKey):
        return {"key_type": "RSA", "key_size": key.key_size, "curve": ""}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"key_type": "EC", "key_size": key.curve.key_size, "curve": key.curve.name}
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {"key_type": "Ed25519", "key_size": 256, "curve": "Ed25519"}
    if isinstance(key, ed448.Ed448PublicKey):
        return {"key_type": "Ed448", "key_size": 456, "curve": "Ed448"}
    if isinstance(key, dsa.DSAPublicKey):
        return {"key_type": "DSA", "key_size": key.key_size, "curve": ""}
    return {"key_type": type(key).__name__.replace("PublicKey", ""), "key_size": None,
            "curve": ""}


def _self_signed(cert) -> bool:
    """Issuer equals subject and the certificate's own key verifies its signature."""
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except InvalidSignature:
        return False
    except (TypeError, ValueError, UnsupportedAlgorithm):
        return True  # a key type we cannot verify with: the matching names must do
    return True


_KEY_USAGES = ("digital_signature", "content_commitment", "key_encipherment",
               "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign")


def _extensions(cert) -> dict:
    from cryptography import x509

    found = {ext.oid: ext.value for ext in cert.extensions}
    basic = found.get(x509.oid.ExtensionOID.BASIC_CONSTRAINTS)
    usage = found.get(x509.oid.ExtensionOID.KEY_USAGE)
    eku = found.get(x509.oid.ExtensionOID.EXTENDED_KEY_USAGE)
    ski = found.get(x509.oid.ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    aki = found.get(x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    return {
        "sans": _sans(found.get(x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME)),
        "is_ca": bool(basic and basic.ca),
        "path_length": basic.path_length if basic else None,
        "key_usage": [n for n in _KEY_USAGES if usage and getattr(usage, n)],
        "extended_key_usage": [_oid_name(oid) for oid in eku] if eku else [],
        "subject_key_id": ski.digest.hex() if ski else "",
        "authority_key_id": aki.key_identifier.hex() if aki and aki.key_identifier else "",
    }


def _sans(san) -> list[str]:
    """OpenSSL-style "DNS:name", "IP:addr", "email:..", "URI:.." strings, in cert order."""
    from cryptography import x509

    if san is None:
        return []
    prefixes = [(x509.DNSName, "DNS"), (x509.IPAddress, "IP"), (x509.RFC822Name, "email"),
                (x509.UniformResourceIdentifier, "URI"), (x509.DirectoryName, "DirName"),
                (x509.RegisteredID, "RID")]
    names = []
    for general in san:
        prefix = next((p for cls, p in prefixes if isinstance(general, cls)), "othername")
        value = general.value
        if isinstance(general, x509.DirectoryName):
            value = _dn(value)
        elif isinstance(general, x509.RegisteredID):
            value = value.dotted_string
        elif isinstance(general, x509.OtherName):
            value = general.type_id.dotted_string
        names.append(f"{prefix}:{value}")
    return names
