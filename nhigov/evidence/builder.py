"""Build an evidence pack as a stream of ZIP bytes, and audit the export.

Order matters: the data files first (their row counts and hashes feed the summary), then
the chain verification, the control mapping, the summary as HTML and PDF, then the
manifest with the SHA-256 and size of every other file, and last the manifest's signature
(manifest.sig.json, made with the audit checkpoints' key). The export is recorded in the
audit chain with its period, framework, actor, file hashes and the manifest's own hash,
so the chain (and its signed checkpoints) vouch for the manifest afterwards.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from nhigov.evidence import report
from nhigov.evidence.files import DATA_FILES, CsvFile, Period
from nhigov.evidence.frameworks import FILES, FRAMEWORKS, Framework, mapping_rows
from nhigov.evidence.signing import sign_manifest
from nhigov.evidence.verification import verify_segment
from nhigov.evidence.zipstream import Entry, StreamingZip
from nhigov.lib.audit import Actor, Change, record

log = logging.getLogger(__name__)
FORMAT = "nhigov-evidence-pack/1"
ACTION = "export.evidence_pack"
MAPPING_HEADER = ["framework", "control", "control_title", "file", "file_contents"]


@dataclass
class EvidencePack:
    """One export: what was asked, by whom; `stream()` yields the ZIP."""

    framework: Framework
    period: Period
    actor: Actor
    reason: str = ""
    compresslevel: int = 1
    code: uuid.UUID = field(default_factory=uuid.uuid4)
    generated_at: datetime = field(default_factory=timezone.now)
    verification: dict = field(default_factory=dict, init=False)

    @classmethod
    def create(cls, framework: str, period: Period, actor: Actor, **kwargs) -> EvidencePack:
        return cls(FRAMEWORKS[framework], period, actor, **kwargs)

    @property
    def filename(self) -> str:
        return (f"nhigov-evidence-{self.framework.key}-{self.period.start:%Y%m%d}-"
                f"{self.period.end:%Y%m%d}.zip")

    def stream(self) -> Iterator[bytes]:
        archive = StreamingZip(self.generated_at, self.compresslevel)
        done = False
        try:
            with snapshot():
                yield from self._contents(archive)
            # Outside the snapshot: appending to the chain must see its current end.
            self._audit(archive.entries, self.verification)
            done = True
            yield from archive.close()
        finally:
            if not done:
                self._audit_unfinished(archive.entries)

    def _contents(self, archive: StreamingZip) -> Iterator[bytes]:
        yield from self._data_files(archive)
        self.verification = verification = verify_segment(self.period)
        yield from archive.add("audit_verification.json", [_dumps(verification)])
        mapping = CsvFile(MAPPING_HEADER, mapping_rows(self.framework))
        yield from archive.add("control_mapping.csv", mapping.chunks(), lambda: mapping.rows)
        context = report.context(self, archive.entries, verification)
        yield from archive.add("summary.html", [report.html(context).encode()])
        yield from archive.add("summary.pdf", [report.pdf(context)])
        manifest = _dumps(self.manifest(archive.entries, verification))
        yield from archive.add("manifest.json", [manifest])
        signature = sign_manifest(str(self.code), archive.entries[-1].sha256)
        if signature:
            yield from archive.add("manifest.sig.json", [_dumps(signature)])

    def _data_files(self, archive: StreamingZip) -> Iterator[bytes]:
        for name, produce in DATA_FILES.items():
            csv_file = produce(self.period)
            yield from archive.add(name, csv_file.chunks(), lambda f=csv_file: f.rows)

    def manifest(self, entries: list[Entry], verification: dict) -> dict:
        return {
            "format": FORMAT,
            "pack": str(self.code),
            "framework": {"key": self.framework.key, "name": self.framework.name},
            "period": {"start": self.period.start.isoformat(),
                       "end": self.period.end.isoformat()},
            "generated_at": self.generated_at.isoformat(),
            "generated_by": self.actor.label,
            "audit_chain_ok": verification.get("ok"),
            "hash_algorithm": "sha256",
            "files": [dict(e.as_dict(), description=FILES.get(e.name, "")) for e in entries],
        }

    def _summary(self) -> dict:
        return {"framework": self.framework.key, "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat()}

    def _audit(self, entries: list[Entry], verification: dict) -> None:
        files = {e.name: e.sha256 for e in entries if not e.name.startswith("manifest.")}
        manifest = next((e for e in entries if e.name == "manifest.json"), None)
        after = {**self._summary(), "files": files, "chain_ok": verification.get("ok"),
                 "manifest_sha256": manifest.sha256 if manifest else ""}
        record(self.actor, Change(ACTION, "evidence_pack", str(self.code),
                                  f"{self.framework.name}, {self.period}", after=after),
               reason=self.reason or "Evidence pack export")

    def _audit_unfinished(self, entries: list[Entry]) -> None:
        # The client went away or a query failed: the attempt is still worth a record.
        try:
            after = {**self._summary(), "completed": False,
                     "files": {e.name: e.sha256 for e in entries}}
            record(self.actor, Change(ACTION, "evidence_pack", str(self.code),
                                      f"{self.framework.name}, {self.period} (unfinished)",
                                      after=after),
                   reason=self.reason or "Evidence pack export, not completed")
        except Exception:  # never mask the original error
            log.exception("could not audit an unfinished evidence pack %s", self.code)


@contextmanager
def snapshot():
    """One read-only REPEATABLE READ transaction on PostgreSQL, so every file (and the
    summary's figures) describe the same moment even while syncs and reviews go on.
    Inside an existing transaction (tests, callers' atomic blocks) it reads in that one."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _dumps(data: dict) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True, default=str).encode()
