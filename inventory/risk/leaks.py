"""Import of secret-scanner reports (gitleaks and trufflehog JSON), matched to credentials.

Matching, in order: a key id found in the finding (AWS access key ids in the match or
the raw value; trufflehog's extra data) equal to a credential's external id; else the
SHA-256 of the secret equal to a credential's fingerprint (for credentials registered
with the hash of their value). The secret itself is never stored: a report row keeps the
key id, where it was found, and an HMAC of the secret under a key of its own (settings
RISK_LEAK_HMAC_KEY, else derived from SECRET_KEY) so that the same leak reported twice is
recognised. The rule `leak.scanner_match` fires while a matched credential is active.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from inventory.models import Credential, LeakReport
from nhigov.lib.audit import Actor, Change, record

AWS_KEY_ID = re.compile(r"\b((?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA)[A-Z0-9]{16})\b")
EXTRA_ID_KEYS = ("key_id", "access_key_id", "id", "accessor", "client_id", "fingerprint")


class ReportError(ValueError):
    """The file is not a gitleaks or trufflehog JSON report."""


@dataclass
class Leak:
    tool: str
    detector: str
    location: str
    commit: str
    secret: str = field(repr=False)  # in memory only, never stored
    key_ids: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    tool: str
    found: int = 0
    imported: int = 0
    matched: int = 0
    duplicates: int = 0
    unmatched: list[str] = field(default_factory=list)


def _hmac_key() -> bytes:
    key = getattr(settings, "RISK_LEAK_HMAC_KEY", "") or ""
    if key:
        return key.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"nhigov-leak-match", "sha256").digest()


def secret_hmac(secret: str) -> str:
    return hmac.new(_hmac_key(), secret.encode(), "sha256").hexdigest() if secret else ""


def _ids(*texts) -> list[str]:
    found: list[str] = []
    for text in texts:
        if isinstance(text, str):
            found += AWS_KEY_ID.findall(text)
    return list(dict.fromkeys(found))


def _gitleaks(item: dict) -> Leak:
    location = f"{item.get('File', '')}:{item.get('StartLine', '')}"
    repo = item.get("RepoURL") or item.get("Repository") or ""
    return Leak("gitleaks", str(item.get("RuleID") or item.get("Description") or ""),
                f"{repo} {location}".strip(), str(item.get("Commit") or ""),
                str(item.get("Secret") or ""),
                _ids(item.get("Secret"), item.get("Match")))


def _trufflehog(item: dict) -> Leak:
    meta = (item.get("SourceMetadata") or {}).get("Data") or {}
    source = next(iter(meta.values()), {}) if isinstance(meta, dict) and meta else {}
    location = " ".join(str(source.get(k)) for k in ("repository", "file", "line", "link")
                        if source.get(k))
    extra = item.get("ExtraData") or {}
    extra_ids = [str(extra[k]) for k in EXTRA_ID_KEYS if isinstance(extra, dict) and extra.get(k)]
    raw = str(item.get("Raw") or "")
    ids = _ids(raw, item.get("RawV2"), item.get("Redacted")) + extra_ids
    return Leak("trufflehog", str(item.get("DetectorName") or ""), location,
                str(source.get("commit") or ""), raw, list(dict.fromkeys(ids)))


def parse_report(data: bytes) -> list[Leak]:
    """A gitleaks JSON array, or trufflehog JSON (one object per line, or an array)."""
    text = data.decode("utf-8", errors="replace").strip()
    if not text:
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        try:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise ReportError(f"not JSON (line {exc.lineno}): {exc.msg}") from exc
    items = items if isinstance(items, list) else [items]
    leaks = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ReportError(f"item {n} is not a JSON object")
        if "RuleID" in item or "Secret" in item:
            leaks.append(_gitleaks(item))
        elif "DetectorName" in item or "SourceMetadata" in item:
            leaks.append(_trufflehog(item))
        else:
            raise ReportError(f"item {n} is neither a gitleaks nor a trufflehog finding")
    return leaks


def _match(leak: Leak) -> tuple[Credential | None, str]:
    for key_id in leak.key_ids:
        credential = Credential.objects.filter(external_id=key_id).order_by("-id").first()
        if credential:
            return credential, key_id
    if leak.secret:
        digest = hashlib.sha256(leak.secret.encode()).hexdigest()
        credential = Credential.objects.filter(fingerprint__iexact=digest).first()
        if credential:
            return credential, credential.external_id
    return None, (leak.key_ids[0] if leak.key_ids else "")


def import_report(data: bytes, actor: Actor) -> ImportResult:
    """Store the report's leaks (deduplicated) and audit the import; no secret is kept."""
    leaks = parse_report(data)
    result = ImportResult(tool=leaks[0].tool if leaks else "", found=len(leaks))
    with transaction.atomic():
        for leak in leaks:
            credential, key_id = _match(leak)
            _, created = LeakReport.objects.get_or_create(
                tool=leak.tool, location=leak.location[:1024], commit=leak.commit[:80],
                key_id=key_id[:255], secret_hmac=secret_hmac(leak.secret),
                defaults={"detector": leak.detector[:120], "credential": credential,
                          "imported_by": actor.label})
            result.imported += created
            result.duplicates += not created
            result.matched += credential is not None
            if credential is None:
                result.unmatched.append(f"{leak.detector} at {leak.location}")
        record(actor, Change("leaks.import", "leak_report", result.tool or "empty",
                             f"{result.tool} report",
                             after={k: getattr(result, k) for k in
                                    ("found", "imported", "matched", "duplicates")}),
               "secret scanner report")
    return result
