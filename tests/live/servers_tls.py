"""Fixtures for the certificates connector: a small PKI generated with `cryptography` at
session start, written into directory trees, and real TLS servers on loopback ports
(threads with `ssl`-wrapped sockets) serving some of those certificates.

`pki` is the good tree (every certificate kind the connector must describe, with private
keys planted beside and inside certificate files as canaries); `broken_tree` holds
malformed files; `tls_endpoints` maps names to "127.0.0.1:port" strings, including an
endpoint that refuses connections and one that accepts TCP but never answers TLS.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

FIXED_FROM = datetime(2025, 1, 1, tzinfo=UTC)
FIXED_TO = datetime(2035, 1, 1, tzinfo=UTC)
WORKER_KEY_CANARY = "CANARY-worker-key-file-9f3c1e"


@dataclass
class Made:
    """A generated certificate with its private key."""

    cert: x509.Certificate
    key: object

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.der).hexdigest()  # computed apart from the code under test


def make(cn: str, key, *, serial: int, issuer: Made | None = None, sans: list | None = None,
         not_before: datetime = FIXED_FROM, not_after: datetime = FIXED_TO,
         ca_path_length: int | None | bool = False, eku: list | None = None,
         ou: str = "", email: str = "") -> Made:
    """A certificate for `key`, self-signed unless `issuer` is given."""
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp")]
    attrs += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou)] if ou else []
    attrs += [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    attrs += [x509.NameAttribute(NameOID.EMAIL_ADDRESS, email)] if email else []
    subject = x509.Name(attrs)
    public = key.public_key()
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(public).serial_number(serial)
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False))
    if issuer:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.key.public_key()), False)
    if ca_path_length is not False:
        builder = builder.add_extension(x509.BasicConstraints(True, ca_path_length), True)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), False)
    signer = issuer.key if issuer else key
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return Made(builder.sign(signer, algorithm), key)


def rsa_key(bits: int = 2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@dataclass
class PKI:
    """The generated certificates and the directory tree holding them."""

    root: Made
    intermediate: Made
    api: Made
    billing: Made
    expired: Made
    expiring: Made
    weak: Made
    ec: Made
    ed: Made
    dsa: Made
    worker: Made
    nocn: Made
    other: Made  # served only for the SNI name other.example.test
    tree: Path
    servers: Path  # server chain and key files, outside the scanned tree
    canaries: list[str] = field(default_factory=list)

    @property
    def in_tree(self) -> list[Made]:
        return [self.root, self.intermediate, self.api, self.billing, self.expired,
                self.expiring, self.weak, self.ec, self.ed, self.dsa, self.worker, self.nocn]


def _canaries(*key_pems: bytes) -> list[str]:
    """Strings that must never show up: each key PEM and every base64 line of its body."""
    found = [WORKER_KEY_CANARY]
    for pem in key_pems:
        found.append(pem.decode())
        found += [line for line in pem.decode().splitlines() if len(line) > 40]
    return found


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _trusted(made: Made) -> bytes:
    # OpenSSL's -trustout form: the certificate DER followed by trust settings (serverAuth).
    aux = bytes.fromhex("300c300a06082b06010505070301")
    body = base64.encodebytes(made.der + aux).decode()
    label = "TRUSTED CERTIFICATE"
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode()


def build_pki(base: Path) -> PKI:
    now = datetime.now(UTC).replace(microsecond=0)
    root = make("NHI Test Root CA", rsa_key(), serial=0x1000, ca_path_length=1,
                not_before=datetime(2024, 1, 1, tzinfo=UTC),
                not_after=datetime(2044, 1, 1, tzinfo=UTC))
    inter = make("NHI Test Issuing CA", ec.generate_private_key(ec.SECP384R1()), serial=0x1001,
                 issuer=root, ca_path_length=0)
    api = make("api.example.test", rsa_key(), serial=0x2001, issuer=inter,
               sans=[x509.DNSName("api.example.test"), x509.DNSName("api.internal.example.test"),
                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
               eku=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
               ou="payments-team", email="api-owner@example.test")
    pki = PKI(
        root=root, intermediate=inter, api=api,
        billing=make("billing-client", rsa_key(), serial=0x2002, issuer=root,
                     eku=[ExtendedKeyUsageOID.CLIENT_AUTH]),
        expired=make("legacy.example.test", rsa_key(), serial=0x3001,
                     not_before=datetime(2020, 1, 1, tzinfo=UTC),
                     not_after=datetime(2021, 1, 1, tzinfo=UTC)),
        expiring=make("soon.example.test", rsa_key(), serial=0x3002, issuer=root,
                      not_before=now - timedelta(days=80), not_after=now + timedelta(days=10)),
        weak=make("weak.example.test", rsa_key(1024), serial=0x3003),
        ec=make("ec.example.test", ec.generate_private_key(ec.SECP256R1()), serial=0x3004,
                issuer=root),
        ed=make("ed.example.test", ed25519.Ed25519PrivateKey.generate(), serial=0x3005),
        dsa=make("dsa.example.test", dsa.generate_private_key(2048), serial=0x3006),
        worker=make("worker.example.test", rsa_key(), serial=0x3007),
        nocn=make("", ec.generate_private_key(ec.SECP256R1()), serial=0x3008,
                  sans=[x509.DNSName("nocn.example.test")]),
        other=make("other.example.test", ec.generate_private_key(ec.SECP256R1()),
                   serial=0x4001),
        tree=base / "tree", servers=base / "servers",
    )
    _write_tree(pki)
    return pki


def _write_tree(pki: PKI) -> None:
    t = pki.tree
    _write(t / "README.txt", pki.root.pem)  # not a certificate file name: ignored
    _write(t / "ca" / "root-ca.pem", pki.root.pem)
    _write(t / "ca" / "root-ca-trusted.pem", _trusted(pki.root))
    _write(t / "ca" / "billing-client.crt", pki.billing.pem)
    # certbot-like: a bundle (leaf, intermediate, root) with its key file beside it
    _write(t / "services" / "api" / "fullchain.pem",
           b"subject=CN=api.example.test\n" + pki.api.pem + pki.intermediate.pem + pki.root.pem)
    _write(t / "services" / "api" / "privkey.pem", pki.api.key_pem)
    _write(t / "legacy" / "legacy.crt", pki.expired.pem)
    _write(t / "soon.pem", pki.expiring.pem)
    _write(t / "weak" / "weak.pem", pki.weak.pem)
    _write(t / "ec" / "ec.cer", pki.ec.der)
    _write(t / "ed25519.pem", pki.ed.pem)
    _write(t / "dsa.PEM", pki.dsa.pem)
    _write(t / "nocn.pem", pki.nocn.pem)
    # The private key inside the certificate file, and another key file by name only.
    _write(t / "worker" / "worker.pem", pki.worker.pem + pki.worker.key_pem)
    _write(t / "worker" / "worker.key",
           pki.worker.key_pem + f"# {WORKER_KEY_CANARY}\n".encode())
    _write(t / "params" / "dhparam.pem",
           b"-----BEGIN DH PARAMETERS-----\nMAYCAQI=\n-----END DH PARAMETERS-----\n")
    pki.canaries = _canaries(pki.api.key_pem, pki.worker.key_pem)
    s = pki.servers
    _write(s / "api-chain.pem", pki.api.pem + pki.intermediate.pem)
    for name in ("api", "expired", "weak", "ed", "other"):
        _write(s / f"{name}.pem", getattr(pki, name).pem)
        _write(s / f"{name}.key", getattr(pki, name).key_pem)


BROKEN_KEY_CANARY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCANARYtruncated"


def build_broken(base: Path, fine: Made) -> Path:
    """One good certificate among malformed files."""
    _write(base / "fine.pem", fine.pem)
    _write(base / "bad-base64.pem",
           b"-----BEGIN CERTIFICATE-----\nthis is not base64!!\n-----END CERTIFICATE-----\n")
    _write(base / "bad-der.crt", b"-----BEGIN CERTIFICATE-----\n"
           + base64.encodebytes(b"\x30\x03\x02\x01\x00") + b"-----END CERTIFICATE-----\n")
    _write(base / "garbage.cer", b"hello, I am not a certificate\n")
    _write(base / "truncated-key.pem",
           f"-----BEGIN PRIVATE KEY-----\n{BROKEN_KEY_CANARY}\n".encode())
    return base


class TLSServer:
    """Serves a certificate chain over TLS on a loopback port; each connection is closed
    once the client goes away. `sni` maps server names to other (cert, key) files."""

    def __init__(self, chain: Path, key: Path, sni: dict[str, tuple[Path, Path]] | None = None):
        self.context = self._context(chain, key)
        others = {name: self._context(*files) for name, files in (sni or {}).items()}
        if others:
            def pick(sslobj, name, _context):
                if name in others:
                    sslobj.context = others[name]
            self.context.sni_callback = pick
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @staticmethod
    def _context(chain: Path, key: Path) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # so the RSA-1024 certificate can be served
        context.load_cert_chain(chain, key)
        return context

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)  # until the client closes
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=5)


# Named fixtures: test modules import the *_fixture functions, so parameter names do not
# shadow imports.
@pytest.fixture(scope="session", name="pki")
def pki_fixture(tmp_path_factory) -> PKI:
    return build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session", name="broken_tree")
def broken_tree_fixture(tmp_path_factory, pki) -> Path:
    fine = make("fine.example.test", rsa_key(), serial=0x5001)
    return build_broken(tmp_path_factory.mktemp("broken"), fine)


@pytest.fixture(scope="session", name="tls_endpoints")
def tls_endpoints_fixture(pki) -> Iterator[dict[str, str]]:
    """name -> "127.0.0.1:port" for live TLS servers, plus `refused` (a bound port that
    does not listen) and `silent` (accepts TCP, never answers the TLS handshake)."""
    s = pki.servers
    servers = {
        "api": TLSServer(s / "api-chain.pem", s / "api.key",
                         sni={"other.example.test": (s / "other.pem", s / "other.key")}),
        "expired": TLSServer(s / "expired.pem", s / "expired.key"),
        "weak": TLSServer(s / "weak.pem", s / "weak.key"),
        "ed": TLSServer(s / "ed.pem", s / "ed.key"),
    }
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    silent = socket.create_server(("127.0.0.1", 0), backlog=64)  # never accept()ed
    addresses = {name: server.address for name, server in servers.items()}
    addresses["refused"] = f"127.0.0.1:{refused.getsockname()[1]}"
    addresses["silent"] = f"127.0.0.1:{silent.getsockname()[1]}"
    yield addresses
    for server in servers.values():
        server.stop()
    refused.close()
    silent.close()
