"""One identity's full timeline: audit events (its own and its credentials', reviews' and
remediations'), sync changes, findings and attestations, newest first.

Each source is read newest first and capped, then merged, so a long-lived identity with
thousands of sync changes still costs four short indexed queries. The audit page holds the
complete history (the timeline links there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from inventory.models import Finding, Identity, SyncChange
from nhigov.models import AuditEvent
from reviews.models import Attestation, Remediation

LIMIT = 200


@dataclass
class Entry:
    """One line of the timeline."""

    at: datetime
    kind: str  # audit | sync | finding | attestation
    title: str
    actor: str = ""
    detail: str = ""
    diff: list[tuple[str, object, object]] = field(default_factory=list)
    event_id: int | None = None


def _audit(identity: Identity, related: dict[str, list[str]]) -> list[Entry]:
    """The identity's own events and those of its credentials, reviews and remediations
    (`related`: object type -> codes)."""
    events = AuditEvent.objects.filter(object_type="identity", object_id=str(identity.code))
    for object_type, codes in related.items():
        if codes:
            events = events | AuditEvent.objects.filter(object_type=object_type,
                                                        object_id__in=codes)
    return [Entry(e.at, "audit", e.action, e.actor, e.reason,
                  [(k, (e.before or {}).get(k), v) for k, v in (e.after or {}).items()], e.id)
            for e in events.order_by("-id")[:LIMIT]]


def _sync(identity: Identity) -> list[Entry]:
    changes = (SyncChange.objects.filter(identity=identity).select_related("run", "run__source")
               .order_by("-run__started_at")[:LIMIT])
    return [Entry(c.run.finished_at or c.run.started_at, "sync",
                  f"sync: {c.get_kind_display().lower()}", f"sync:{c.run.code}",
                  ", ".join(c.fields) if c.fields else f"source {c.run.source.name}")
            for c in changes]


def _findings(identity: Identity) -> list[Entry]:
    entries = []
    for f in Finding.objects.filter(identity=identity).order_by("-last_detected_at")[:LIMIT]:
        entries.append(Entry(f.first_detected_at, "finding", f"finding opened: {f.rule}",
                             "risk evaluation", f.get_severity_display()))
        if f.accepted_at:
            entries.append(Entry(f.accepted_at, "finding", f"finding accepted: {f.rule}",
                                 str(f.accepted_by or ""),
                                 f"until {f.accepted_until} — {f.accepted_reason}"))
        if f.resolved_at:
            entries.append(Entry(f.resolved_at, "finding", f"finding resolved: {f.rule}",
                                 str(f.resolved_by or "risk evaluation"), f.resolved_why))
    return entries


def _attestations(rows: list[Attestation]) -> list[Entry]:
    entries = []
    for a in rows:
        entries.append(Entry(a.created_at, "attestation",
                             f"review requested: {a.campaign.name}",
                             str(a.reviewer or a.team or ""), a.get_role_display()))
        if a.decided_at:
            entries.append(Entry(a.decided_at, "attestation",
                                 f"review decided: {a.get_decision_display()}", a.decided_by,
                                 a.comment))
    return entries


def timeline(identity: Identity, limit: int = LIMIT) -> tuple[list[Entry], bool]:
    """(entries newest first, whether older entries were left out)."""
    attestations = list(Attestation.objects.filter(identity=identity)
                        .select_related("campaign", "reviewer", "team")
                        .order_by("-created_at")[:LIMIT])
    related = {
        "attestation": [str(a.code) for a in attestations],
        "credential": [str(c) for c in identity.credentials.values_list("code", flat=True)[:LIMIT]],
        "remediation": [str(c) for c in Remediation.objects.filter(identity=identity)
                        .values_list("code", flat=True)[:LIMIT]],
    }
    entries = (_audit(identity, related) + _sync(identity) + _findings(identity)
               + _attestations(attestations))
    entries.sort(key=lambda e: (e.at, e.event_id or 0), reverse=True)
    return entries[:limit], len(entries) > limit
