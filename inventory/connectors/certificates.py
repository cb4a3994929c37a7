"""Certificates connector: X.509 certificates in PEM/DER files under directories and on TLS
endpoints, one identity per distinct certificate.

Decisions:

* **Identity = certificate, keyed by `sha256:<fingerprint>`** of the DER, so the same
  certificate found in several files and on several endpoints is one record listing every
  place (`paths`, `endpoints`, and `locations` with the details of each).
* **Every certificate of a bundle is recorded**, not only the leaf, with its `position`
  in the file (0 = first) and a `role` (leaf, intermediate, root). Intermediates and
  roots expire too, and an expired intermediate breaks every chain that uses it; the
  fingerprint key keeps a shared intermediate to one record however many bundles hold it.
* **TLS endpoints**: a handshake with verification off (we must see expired,
  self-signed and weak certificates) and nothing sent after it. The chain the server
  sends is recorded through `get_unverified_chain` (public in Python 3.13, private on
  3.10-3.12); where neither exists, the leaf alone (`getpeercert(binary_form=True)`).
  STARTTLS protocols are not spoken.
* **Private keys are never read into a record**: `*.key/*.p12/*.pfx` files are noticed by
  name only; PEM key blocks by label only. Each file location says whether the file
  itself holds a key (`private_key_in_file`) and which key files sit in the same
  directory (`key_files_beside`); `private_key_beside` sums it up for risk rules, for
  the first certificate of a file only (the key of a bundle is its leaf's key).
* **Failures: read everything, yield what was read, then raise.** A missing directory
  is bad configuration (BadConfig before anything is read). An unreadable or malformed
  file, or a failing endpoint, does not stop the others: every good certificate is
  yielded (they are true facts), then the run fails with a `ConnectorError` listing the
  failures (`Unreachable` if all were endpoints that did not answer, `AccessDenied` if
  all were permission errors). A failed run marks nothing missing, so a certificate whose
  file became unreadable, or whose endpoint is down, is never reported gone. A file that
  is knowingly broken can be left out with `exclude`.
* Files without certificates (only a key, a CRL, DH parameters) are skipped, not errors.
* Time-relative values (days left) are not stored: they would change every row daily.
  A credential's status is `expired` after not-after and `inactive` before not-before.
* Owner hints from the subject: OU -> team, emailAddress -> technical owner.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime

from inventory.choices import AuthMethod, IdentityKind, Privilege, Provider, SourceKind
from inventory.connectors.base import (
    AccessDenied,
    BadConfig,
    CheckResult,
    Connector,
    ConnectorError,
    IdentityRecord,
    Param,
    Unreachable,
    register,
)
from inventory.connectors.certificates_scan import (
    Problem,
    Scan,
    parse_endpoint,
    scan_directories,
    scan_endpoints,
)
from inventory.connectors.x509 import CertInfo, credential_record

_SHOWN_PROBLEMS = 5


@register
class CertificatesConnector(Connector):
    """Certificates in files (PEM bundles or DER) and on TLS endpoints."""

    name = SourceKind.CERTIFICATES.value
    title = "Certificates"
    params = [
        Param("directories", "Absolute directory paths, read recursively for *.pem, *.crt "
              "and *.cer files (PEM bundles or DER)."),
        Param("endpoints", "TLS endpoints as host:port or host:port/sni-name."),
        Param("exclude", "Glob patterns of files or subdirectories to skip, matched against "
              "the name and the path relative to the directory.", default=[]),
        Param("timeout_seconds", "Connect and handshake timeout per endpoint.", default=5),
        Param("environment", "Environment slug given to every certificate found.",
              default=""),
    ]
    auth = ("None: files are read with the worker's own file permissions (mount them "
            "read-only), and TLS endpoints are contacted anonymously without verification.")

    @classmethod
    def validate(cls, config: dict) -> dict:
        values = super().validate(config)
        problems: list[str] = []
        for key in ("directories", "endpoints", "exclude"):
            values[key] = _string_list(values[key], key, problems)
        problems += [f"directory {d!r} must be an absolute path"
                     for d in values["directories"] if not os.path.isabs(d)]
        for text in values["endpoints"]:
            try:
                parse_endpoint(text)
            except ValueError as exc:
                problems.append(str(exc))
        values["timeout_seconds"] = _timeout(values["timeout_seconds"], problems)
        values["environment"] = str(values["environment"] or "").strip()
        if not values["directories"] and not values["endpoints"]:
            problems.append("give at least one of 'directories' or 'endpoints'")
        if problems:
            raise BadConfig(f"{cls.title}: " + "; ".join(problems))
        return values

    def check(self) -> CheckResult:
        missing = self._missing_directories()
        if missing:
            return CheckResult(ok=False, summary=missing[0], error_kind="bad_config",
                               details={"problems": missing})
        scan = self._scan()
        distinct = {s.info.fingerprint_sha256: s.info for s in scan.sightings}
        now = datetime.now(UTC)
        details = {
            "directories": len(self.config["directories"]), "files": scan.files,
            "certificates": scan.file_certificates,
            "endpoint_certificates": scan.endpoint_certificates,
            "distinct_certificates": len(distinct),
            "key_files": scan.key_files, "skipped_files": scan.skipped_files,
            "endpoints": len(self.config["endpoints"]),
            "endpoints_reachable": scan.endpoints_reached,
            "expired": sum(1 for i in distinct.values() if i.not_after <= now),
            "problems": [str(p) for p in scan.problems[:10]],
        }
        summary = _summary(details)
        if not scan.problems:
            return CheckResult(ok=True, summary=summary, details=details)
        first = scan.problems[0]
        return CheckResult(ok=False, details=details, error_kind=_check_kind(first),
                           summary=f"{summary}; {len(scan.problems)} problem(s), "
                                   f"first: {first}")

    def read(self) -> Iterator[IdentityRecord]:
        missing = self._missing_directories()
        if missing:
            raise BadConfig("; ".join(missing))
        scan = self._scan()
        now = datetime.now(UTC)
        grouped: dict[str, tuple[CertInfo, list[dict]]] = {}
        for sighting in scan.sightings:
            key = sighting.info.fingerprint_sha256
            grouped.setdefault(key, (sighting.info, []))[1].append(sighting.location)
        for info, locations in grouped.values():
            yield self._record(info, locations, now)
        if scan.problems:
            raise _failure(scan.problems)

    # ------------------------------------------------------------------ helpers

    def _missing_directories(self) -> list[str]:
        return [f"directory {d} does not exist or is not a directory (as seen by the worker)"
                for d in self.config["directories"] if not os.path.isdir(d)]

    def _scan(self) -> Scan:
        scan = Scan()
        scan_directories(self.config["directories"], self.config["exclude"], scan)
        endpoints = [parse_endpoint(e) for e in self.config["endpoints"]]
        scan_endpoints(endpoints, float(self.config["timeout_seconds"]), scan)
        return scan

    def _record(self, info: CertInfo, locations: list[dict], now: datetime) -> IdentityRecord:
        # Overlapping directories (/etc/ssl and /etc/ssl/certs) report a place twice.
        locations = list({json.dumps(loc, sort_keys=True): loc for loc in locations}.values())
        paths = list(dict.fromkeys(loc["path"] for loc in locations if "path" in loc))
        endpoints = list(dict.fromkeys(loc["endpoint"] for loc in locations
                                       if "endpoint" in loc))
        # A key next to a bundle is the key of the bundle's first certificate, not of the
        # intermediates and roots that follow it.
        beside = any(loc.get("private_key_in_file") or loc.get("key_files_beside")
                     for loc in locations if loc.get("position") == 0)
        attributes = {**info.as_attributes(), "paths": paths, "endpoints": endpoints,
                      "locations": locations, "private_key_beside": beside}
        return IdentityRecord(
            external_id=info.external_id, provider=Provider.CERTIFICATE.value,
            kind=IdentityKind.CERTIFICATE.value, name=info.name[:255],
            path=(paths + endpoints)[0][:1024], environment=self.config["environment"],
            privilege=Privilege.UNKNOWN.value, permissions_summary=_permissions(info),
            auth_method=AuthMethod.CERTIFICATE.value, created_at_source=info.not_before,
            expires_at=info.not_after, attributes=attributes, owner_hints=_hints(info),
            credentials=[credential_record(info, now)],
        )


def _string_list(value: object, key: str, problems: list[str]) -> list[str]:
    """A list of non-empty strings; a plain string is read as one item per line."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        problems.append(f"{key!r} must be a list of strings")
        return []
    return [v.strip() for v in value if v.strip()]


def _timeout(value: object, problems: list[str]) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = -1.0
    if not 0 < seconds <= 120:
        problems.append("'timeout_seconds' must be a number of seconds between 0 and 120")
    return seconds


def _summary(details: dict) -> str:
    parts = []
    if details["directories"]:
        parts.append(f"{details['files']} file(s) with {details['certificates']} "
                     f"certificate(s) in {details['directories']} director"
                     f"{'y' if details['directories'] == 1 else 'ies'}")
    if details["endpoints"]:
        parts.append(f"{details['endpoints_reachable']} of {details['endpoints']} "
                     f"endpoint(s) reachable with {details['endpoint_certificates']} "
                     f"certificate(s)")
    parts.append(f"{details['distinct_certificates']} distinct certificate(s), "
                 f"{details['expired']} expired")
    return "; ".join(parts)


def _check_kind(problem: Problem) -> str:
    # A malformed file or a read error: the source as configured cannot be read cleanly.
    return problem.kind if problem.kind in ("unreachable", "access_denied") else "bad_config"


def _failure(problems: list[Problem]) -> ConnectorError:
    kinds = {p.kind for p in problems}
    cls = {frozenset({"unreachable"}): Unreachable,
           frozenset({"access_denied"}): AccessDenied}.get(frozenset(kinds), ConnectorError)
    shown = "; ".join(str(p) for p in problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    return cls(f"Certificates: {len(problems)} location(s) could not be read, so this run "
               f"marks nothing missing: {shown}" + (f"; and {more} more" if more > 0 else ""))


def _permissions(info: CertInfo) -> str:
    if info.is_ca:
        limit = "" if info.path_length is None else f" (path length {info.path_length})"
        return f"Certificate authority: can issue certificates{limit}"
    if info.extended_key_usage:
        return "Extended key usage: " + ", ".join(info.extended_key_usage)
    return "Any purpose (no extended key usage)"


def _hints(info: CertInfo) -> dict:
    hints = {"team": info.organizational_unit, "technical_owner": info.email}
    return {k: v for k, v in hints.items() if v}
