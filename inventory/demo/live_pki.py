"""The demo's certificates as real X.509, for the live demo.

Every certificate record of the generator becomes a certificate signed by a CA named
like its issuer, with the record's serial, dates, key type and size, SANs and extended
key usage, spread where such certificates live in an AI factory:

* public `*.aifactory.example` certificates (Let's Encrypt) -> IAM server certificates
  of the production account (uploaded to moto, found by the aws connector);
* `*.svc.cluster.local` certificates (cluster CA) -> `kubernetes.io/tls` secrets of the
  GPU cluster (served by the recorded API, found by the kubernetes connector);
* mTLS client and GPU node certificates -> PEM bundles under `<demo>/certs/` (found by
  the certificates connector), node keys on disk beside them as on the real hosts.

Generated once per demo folder and kept (a manifest records them), as certificates are:
re-signing every day would give every certificate a new fingerprint, hence a new
identity. `make clean` removes the folder; the next run issues a fresh set. Private keys
are demo keys written with mode 600; the register never sees them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from inventory.connectors.base import IdentityRecord
from inventory.demo.live_files import write_private, write_public
from inventory.demo.org import DOMAIN, TEAMS

VERSION = 3  # bump when the mapping below changes: the next run issues a new set
TEAM_NAMES = {slug: name for slug, name, _, _ in TEAMS}
# The CAs' own certificates are identities too (the certificates connector records every
# certificate of a bundle); Security runs the PKI.
CA_OWNER = {"team": "Security", "email": "fatima.zahra@" + DOMAIN}


@dataclass
class Issued:
    """One generated certificate and where it goes; hints are the record's owner hints."""

    group: str  # iam | k8s | file
    name: str  # IAM certificate name, TLS secret name, or file path relative to certs/
    namespace: str
    common_name: str
    fingerprint: str
    environment: str
    hints: dict
    cert_file: str  # relative to the pki folder (leaf PEM)
    chain_file: str  # the issuing CA's PEM
    key_file: str  # the leaf's private key, mode 600
    auto_renew: bool = False

    def pem(self, root: Path) -> str:
        return (root / self.cert_file).read_text()

    def chain(self, root: Path) -> str:
        return (root / self.chain_file).read_text()

    def key(self, root: Path) -> str:
        return (root / self.key_file).read_text()


def group_of(record: IdentityRecord) -> str:
    if record.name.endswith(".svc.cluster.local"):
        return "k8s"
    if record.name.endswith(f".{DOMAIN}"):
        return "iam"
    return "file"


def load_or_issue(root: Path, certs_dir: Path,
                  records: list[IdentityRecord]) -> tuple[list[Issued], bool]:
    """(certificates, newly issued?): the kept set when it is complete and current, else
    a new one (every certificate then has a new fingerprint)."""
    manifest = root / "manifest.json"
    if manifest.exists():
        try:
            data = json.loads(manifest.read_text())
            issued = [Issued(**entry) for entry in data["certificates"]]
            if data.get("version") == VERSION and all(
                    (root / i.cert_file).exists() for i in issued):
                return issued, False
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: issue a new set
    return _issue(root, certs_dir, records), True


def _issue(root: Path, certs_dir: Path, records: list[IdentityRecord]) -> list[Issued]:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    for folder in (root, certs_dir):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.rglob("*"):
            if old.is_file():
                old.unlink()
    keys: dict = {}

    def key_for(algorithm: str, size: int):
        if (algorithm, size) not in keys:  # one key per type: RSA-4096 takes a second
            keys[(algorithm, size)] = (
                ec.generate_private_key(ec.SECP384R1() if size == 384 else ec.SECP256R1())
                if algorithm == "EC" else
                rsa.generate_private_key(public_exponent=65537, key_size=size))
        return keys[(algorithm, size)]

    cas = _CAs(root, key_for)
    issued = [_issue_one(root, certs_dir, record, cas, key_for) for record in records]
    write_public(root / "manifest.json", json.dumps(
        {"version": VERSION, "issued_at": datetime.now(UTC).isoformat(),
         "certificates": [asdict(i) for i in issued]}, indent=1))
    return issued


class _CAs:
    """The issuing CAs, made on first use; RSA-2048 CA keys."""

    def __init__(self, root: Path, key_for) -> None:
        self.root, self.key_for, self.made = root, key_for, {}

    def get(self, issuer: str) -> tuple:
        if issuer not in self.made:
            from cryptography.hazmat.primitives.asymmetric import rsa

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            now = datetime.now(UTC).replace(microsecond=0)
            public = issuer.startswith("Let's Encrypt")
            name = _name(issuer, "" if public else CA_OWNER["team"],
                         "" if public else CA_OWNER["email"],
                         "Let's Encrypt" if public else "AI Factory")
            cert = _build(name, name, key.public_key(), key, now - timedelta(days=1500),
                          now + timedelta(days=2400), serial=_serial(issuer), ca=True)
            path = f"ca/{_slug(issuer)}.pem"
            write_public(self.root / path, _pem(cert))
            self.made[issuer] = (cert, key, path)
        return self.made[issuer]


def _issue_one(root: Path, certs_dir: Path, record: IdentityRecord, cas: _CAs,
               key_for) -> Issued:
    cred = record.credentials[0]
    issuer = record.attributes.get("issuer") or record.path
    ca_cert, ca_key, chain_file = cas.get(issuer)
    key = key_for(cred.key_algorithm, cred.key_size)
    group, client = group_of(record), record.name.startswith("client:")
    hints = dict(record.owner_hints)
    cn = record.name.removeprefix("client:")
    subject = _name(cn, TEAM_NAMES.get(hints.get("team", ""), ""),
                    hints.get("technical_owner", "") if group == "file" else "")
    cert = _build(subject, ca_cert.subject, key.public_key(), ca_key,
                  cred.created_at_source, cred.expires_at, serial=int(cred.external_id, 16) or 1,
                  sans=record.attributes.get("sans") or [cn], client=client)
    slug = _slug(cn)
    if group == "iam":
        name, namespace = slug, ""
    elif group == "k8s":
        service, namespace = cn.split(".")[:2]
        name = f"{service}-tls"
    else:
        where = f"clients/{record.environment}" if client else "nodes"
        name, namespace = f"{where}/{slug}.pem", ""
    cert_file, key_file = f"{group}/{slug}.crt", f"{group}/{slug}.key"
    write_public(root / cert_file, _pem(cert))
    write_private(root / key_file, _key_pem(key))
    if group == "file":  # a bundle (leaf + issuer), as deployed; node keys beside it
        write_public(certs_dir / name, _pem(cert) + _pem(ca_cert))
        if not client:
            write_private(certs_dir / name.replace(".pem", ".key"), _key_pem(key))
    return Issued(group=group, name=name, namespace=namespace, common_name=cn,
                  fingerprint=_fingerprint(cert), environment=record.environment,
                  hints=hints, cert_file=cert_file, chain_file=chain_file, key_file=key_file,
                  auto_renew=bool(record.attributes.get("auto_renew")))


def ca_hints() -> dict:
    return {"team": CA_OWNER["team"], "technical_owner": CA_OWNER["email"],
            "purpose": "Issuing CA of the AI factory's internal PKI", "zone": "management"}


# --- cryptography helpers ----------------------------------------------------------------

def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


def _serial(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big") | 1


def _name(common_name: str, unit: str = "", email: str = "", org: str = "AI Factory"):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    parts = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if unit:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]))
    if email:
        parts.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, email))
    return x509.Name(parts)


def _build(subject, issuer, public_key, signing_key, not_before: datetime,
           not_after: datetime, *, serial: int, sans: list[str] = (), ca: bool = False,
           client: bool = False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(public_key).serial_number(serial)
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    if not ca:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _pem(cert) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM).decode()


def _key_pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _fingerprint(cert) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
