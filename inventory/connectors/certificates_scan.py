"""Where the certificates connector finds certificates: files under directories, and TLS
endpoints. Each certificate found is a `Sighting` (parsed certificate + JSON-safe
location), each failure a `Problem`; nothing here raises for one bad file or endpoint, so
the connector can read everything first and then decide (it fails the run).

Private keys: files named *.key, *.p12 or *.pfx are noticed by name and never opened;
in *.pem/*.crt/*.cer files a private key is recognised by its PEM label and never
decoded (see `x509.scan_pem`). Only file names and counts leave this module.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import stat
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from inventory.connectors.x509 import CertInfo, PemScan, X509Error, parse_der, scan_pem

CERT_SUFFIXES = (".pem", ".crt", ".cer")
KEY_SUFFIXES = (".key", ".p12", ".pfx")
MAX_FILE_BYTES = 16 * 1024 * 1024  # a CA bundle is ~200 KB; anything bigger is not ours
MAX_PARALLEL = 8  # endpoints probed at once


@dataclass
class Problem:
    """A file or endpoint that could not be read. `kind`: unreachable, access_denied,
    bad_data (malformed or unusable content) or error."""

    kind: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Sighting:
    """One certificate at one place (a position in a file, or in an endpoint's chain)."""

    info: CertInfo
    location: dict


@dataclass
class Scan:
    """Everything found, with counts for `check()`."""

    sightings: list[Sighting] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0  # files that held certificates
    file_certificates: int = 0
    endpoint_certificates: int = 0
    skipped_files: int = 0  # *.pem etc. without certificates: keys, CRLs, parameters
    key_files: int = 0
    endpoints_reached: int = 0

    def add(self, der: bytes, location: dict, where: str) -> None:
        try:
            self.sightings.append(Sighting(parse_der(der), location))
        except X509Error as exc:
            self.problems.append(Problem("bad_data", where, str(exc)))


# ----------------------------------------------------------------------------- files


def scan_directories(roots: list[str], exclude: list[str], scan: Scan) -> None:
    """Walk each directory (recursively, sorted, not following directory symlinks)."""
    for root in roots:
        for directory, names in _walk(root, exclude, scan):
            _scan_directory(directory, names, scan)


def _walk(root: str, exclude: list[str], scan: Scan):
    def failed(exc: OSError) -> None:
        scan.problems.append(_os_problem(exc, exc.filename or root, "cannot list the directory"))

    for directory, dirs, files in os.walk(root, onerror=failed):
        rel = os.path.relpath(directory, root)
        dirs[:] = sorted(d for d in dirs if not _excluded(rel, d, exclude))
        yield directory, sorted(f for f in files if not _excluded(rel, f, exclude))


def _excluded(rel_dir: str, name: str, patterns: list[str]) -> bool:
    rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
    return any(fnmatchcase(rel, p) or fnmatchcase(name, p) for p in patterns)


def _scan_directory(directory: str, names: list[str], scan: Scan) -> None:
    contents: dict[str, PemScan] = {}
    for name in names:
        if name.lower().endswith(CERT_SUFFIXES):
            pem = _read(os.path.join(directory, name), scan)
            if pem is not None:
                contents[name] = pem
    # "Beside" means the same directory: certbot's privkey.pem next to fullchain.pem counts.
    key_files = sorted({n for n in names if n.lower().endswith(KEY_SUFFIXES)}
                       | {n for n, pem in contents.items() if pem.private_keys})
    scan.key_files += len(key_files)
    for name, pem in contents.items():
        if not pem.certificates:
            scan.skipped_files += 1
            continue
        scan.files += 1
        scan.file_certificates += len(pem.certificates)
        path = os.path.join(directory, name)
        beside = [k for k in key_files if k != name]
        for position, der in enumerate(pem.certificates):
            location = {"path": path, "position": position, "count": len(pem.certificates),
                        "private_key_in_file": pem.private_keys > 0, "key_files_beside": beside}
            scan.add(der, location, f"{path} (certificate {position + 1})")


def _read(path: str, scan: Scan) -> PemScan | None:
    try:
        info = os.stat(path)  # follows a symlink to its file
        if not stat.S_ISREG(info.st_mode):
            scan.skipped_files += 1  # a FIFO or device named *.pem: reading could block
            return None
        if info.st_size > MAX_FILE_BYTES:
            scan.problems.append(Problem("bad_data", path, "larger than 16 MiB: not a "
                                         "certificate file (exclude it)"))
            return None
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES)
    except FileNotFoundError as exc:
        what = "broken symbolic link" if os.path.islink(path) else "vanished while reading"
        scan.problems.append(_os_problem(exc, path, what))
        return None
    except OSError as exc:
        scan.problems.append(_os_problem(exc, path, "cannot read the file"))
        return None
    try:
        return scan_pem(data)
    except X509Error as exc:
        scan.problems.append(Problem("bad_data", path, f"malformed: {exc}"))
        return None


def _os_problem(exc: OSError, where: str, what: str) -> Problem:
    if isinstance(exc, PermissionError):
        return Problem("access_denied", str(where), f"{what}: permission denied for the "
                       "worker's user")
    return Problem("error", str(where), f"{what}: {exc.strerror or type(exc).__name__}")


# ----------------------------------------------------------------------------- TLS

_ADDRESS = re.compile(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([A-Za-z0-9_.-]+):(\d{1,5})")
_SNI = re.compile(r"[A-Za-z0-9_.-]{1,253}")


@dataclass(frozen=True)
class Endpoint:
    """A TLS endpoint: host, port and the SNI name to ask for (empty: the host name)."""

    host: str
    port: int
    sni: str = ""

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" + (f"/{self.sni}" if self.sni else "")


def parse_endpoint(text: str) -> Endpoint:
    """ "host:port", "host:port/sni-name" or "[v6-address]:port[/sni-name]"."""
    address, _, sni = str(text).strip().partition("/")
    match = _ADDRESS.fullmatch(address)
    if not match or (sni and not _SNI.fullmatch(sni)):
        raise ValueError(f"endpoint {text!r} is not host:port or host:port/sni-name")
    port = int(match.group(2) or match.group(4))
    if not 0 < port < 65536:
        raise ValueError(f"endpoint {text!r} has no valid port")
    return Endpoint(match.group(1) or match.group(3), port, sni)


def scan_endpoints(endpoints: list[Endpoint], timeout: float, scan: Scan) -> None:
    """Handshake with every endpoint (a few at a time) and record its certificate chain."""
    if not endpoints:
        return
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(endpoints))) as pool:
        results = list(pool.map(lambda ep: _fetch(ep, timeout), endpoints))
    for endpoint, result in zip(endpoints, results, strict=True):
        if isinstance(result, Problem):
            scan.problems.append(result)
            continue
        scan.endpoints_reached += 1
        chain, session = result
        scan.endpoint_certificates += len(chain)
        for position, der in enumerate(chain):
            location = {"endpoint": endpoint.label, "sni": endpoint.sni, "position": position,
                        "count": len(chain), **session}
            scan.add(der, location, f"{endpoint.label} (certificate {position + 1})")


def _fetch(endpoint: Endpoint, timeout: float) -> tuple[list[bytes], dict] | Problem:
    stage = ["connecting"]
    try:
        return _handshake(endpoint, timeout, stage)
    except ConnectionRefusedError:
        return Problem("unreachable", endpoint.label, "connection refused")
    except TimeoutError:
        return Problem("unreachable", endpoint.label,
                       f"timed out after {timeout:g}s while {stage[0]}")
    except socket.gaierror:
        return Problem("unreachable", endpoint.label, "cannot resolve the host name")
    except ssl.SSLError as exc:
        reason = exc.reason or exc.__class__.__name__
        return Problem("unreachable", endpoint.label, f"TLS handshake failed ({reason})")
    except OSError as exc:
        return Problem("unreachable", endpoint.label,
                       f"{stage[0]} failed: {exc.strerror or type(exc).__name__}")


def _handshake(endpoint: Endpoint, timeout: float, stage: list[str]) -> tuple[list[bytes], dict]:
    context = _discovery_context()
    with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout) as raw:
        stage[0] = "waiting for the TLS handshake"
        # Only a ClientHello goes out; nothing is sent after the handshake.
        with context.wrap_socket(raw, server_hostname=endpoint.sni or endpoint.host) as tls:
            leaf = tls.getpeercert(binary_form=True)
            chain = _unverified_chain(tls) or ([leaf] if leaf else [])
            cipher = tls.cipher()
            return chain, {"tls_version": tls.version() or "", "cipher": cipher[0] if cipher
                           else ""}


def _discovery_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Verification off on purpose: discovery must see expired, self-signed and mismatched
    # certificates, and weak keys and old protocols, to report them.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with suppress(ssl.SSLError):
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def _unverified_chain(tls: ssl.SSLSocket) -> list[bytes]:
    """The chain the server sent, leaf first. Python 3.13 has a public method; 3.10-3.12
    have the same one on the private `_sslobj`. Without either, the caller keeps the leaf."""
    getter = getattr(tls, "get_unverified_chain", None) or getattr(
        getattr(tls, "_sslobj", None), "get_unverified_chain", None)
    if getter is None:
        return []
    try:
        certs = getter() or []
        return [c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER)
                for c in certs]
    except Exception:  # a private API: any surprise falls back to the leaf alone
        return []
