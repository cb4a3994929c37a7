"""The data files of an evidence pack: each is a header and rows read with one query.

Rows come from `QuerySet.iterator()` ordered by id: a server-side cursor on PostgreSQL and
a fetchmany loop on SQLite, so memory stays flat and the number of queries does not grow
with the number of rows. The files that grow with the register (inventory, decisions,
findings, audit segment) are `QueryCsv`: on PostgreSQL they stream from COPY instead (see
nhigov.evidence.copy). Cells go through the register export's `safe_cell` (or its SQL
twin), so no spreadsheet runs them as formulas. No file holds a secret value: credentials appear by
their native identifiers only and alert targets lose everything but scheme and host.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform

from inventory import export
from inventory.models import AlertDelivery, Credential, Finding, Identity, Source, SyncRun
from nhigov.evidence.copy import QueryCsv
from nhigov.models import AuditEvent
from reviews.models import Attestation, Campaign

CHUNK = 2000
safe_cell = export.safe_cell


@dataclass(frozen=True)
class Period:
    """Inclusive dates; read as [start 00:00 UTC, end + 1 day 00:00 UTC)."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


class CsvFile:
    """A CSV produced row by row; `rows` is known once the bytes have been consumed."""

    def __init__(self, header: list[str], rows: Iterable[Iterable]) -> None:
        self.header, self.source, self.rows = header, rows, 0

    def chunks(self) -> Iterator[bytes]:
        buffer = io.StringIO()
        # "\n" like PostgreSQL's COPY (nhigov.evidence.copy), so both paths give one format.
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        pending = 0
        for row in self.source:
            writer.writerow([cell(v) for v in row])
            pending += 1
            if pending == CHUNK:
                self.rows += pending
                pending = 0
                yield _take(buffer)
        self.rows += pending
        yield _take(buffer)


def cell(value) -> str:
    """safe_cell, with objects (audit before/after, answers) as compact sorted JSON."""
    return safe_cell(_json(value) if isinstance(value, dict) else value)


def _take(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data


def _stream(queryset: QuerySet, fields: list[str]) -> Iterator[tuple]:
    return queryset.order_by("id").values_list(*fields).iterator(chunk_size=CHUNK)


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def inventory(period: Period) -> QueryCsv:
    """Every identity (the register as it stands at export time), the register's columns."""
    return QueryCsv([name for name, _ in export.COLUMNS], Identity.objects.all(),
                    [path for _, path in export.COLUMNS])


ROTATION_HEADER = ["at", "event", "identity_code", "identity_name", "credential_kind",
                   "credential_id", "fingerprint", "key_algorithm", "key_size", "expires_at",
                   "status"]


def rotation_log(period: Period) -> CsvFile:
    """Credentials first created in the period (a new key is a rotation), then identities
    whose recorded last rotation falls in the period (sources without per-key data)."""
    window = {"created_at_source__gte": period.start_at, "created_at_source__lt": period.end_at}
    issued = _stream(Credential.objects.filter(**window), [
        "created_at_source", "identity__code", "identity__name", "kind", "external_id",
        "fingerprint", "key_algorithm", "key_size", "expires_at", "status"])
    rotated = _stream(Identity.objects.filter(last_rotated_at__gte=period.start_at,
                                              last_rotated_at__lt=period.end_at),
                      ["last_rotated_at", "code", "name", "expires_at", "status"])

    def rows() -> Iterator[list]:
        for at, *rest in issued:
            yield [at, "credential_issued", *rest]
        for at, code, name, expires, status in rotated:
            yield [at, "identity_rotated", code, name, "", "", "", "", "", expires, status]

    return CsvFile(ROTATION_HEADER, rows())


def campaigns_in(period: Period) -> QuerySet:
    """Campaigns open at any time in the period: opened before its end, not closed before
    its start. Each is reported whole, with every task, whenever it was decided."""
    return Campaign.objects.filter(opened_at__lt=period.end_at).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=period.start_at))


_DECISIONS = ["confirm", "revoke", "reassign", "change"]
CAMPAIGN_HEADER = ["campaign_code", "name", "kind", "period", "status", "scope", "opened_at",
                   "due_date", "closed_at", "created_by", "outcome_rule", "identities", "tasks",
                   "triage", "decided", *[f"decided_{d}" for d in _DECISIONS], "expired",
                   "open"]


def review_campaigns(period: Period) -> CsvFile:
    # One join to the tasks; every count is a FILTER over it (a single multi-valued join,
    # so the counts do not multiply each other).
    A = Attestation.Status
    counts = {f"n_{d}": Count("tasks", filter=Q(tasks__decision=d, tasks__status=A.DECIDED))
              for d in _DECISIONS}
    qs = campaigns_in(period).annotate(
        n_decided=Count("tasks", filter=Q(tasks__status=A.DECIDED)),
        n_expired=Count("tasks", filter=Q(tasks__status=A.EXPIRED)),
        n_open=Count("tasks", filter=Q(tasks__status__in=[A.PENDING, A.TRIAGE])), **counts)
    fields = ["code", "name", "kind", "period", "status", "scope_label", "opened_at",
              "due_date", "closed_at", "created_by", "outcome_rule", "identity_count",
              "task_count", "triage_count", "n_decided", *counts, "n_expired", "n_open"]
    return CsvFile(CAMPAIGN_HEADER, _stream(qs, fields))


DECISION_HEADER = ["campaign_code", "campaign_name", "task_code", "identity_code",
                   "identity_name", "role", "reviewer", "status", "decision", "decided_at",
                   "decided_by", "comment", "answers"]


def review_decisions(period: Period) -> QueryCsv:
    """Every task of the period's campaigns: decided, expired unanswered or still open.
    The identity's name is the one the reviewer was shown (the task's snapshot)."""
    qs = Attestation.objects.filter(campaign__in=campaigns_in(period).values("pk"))
    return QueryCsv(DECISION_HEADER, qs, [
        "campaign__code", "campaign__name", "code", "identity__code",
        KeyTextTransform("name", "snapshot"), "role", "reviewer__email", "status", "decision",
        "decided_at", "decided_by", "comment", "answers"])


FINDING_HEADER = ["finding_code", "identity_code", "identity_name", "rule", "severity", "owasp",
                  "status", "first_detected_at", "opened_at", "last_detected_at", "resolved_at",
                  "resolved_by", "resolved_why", "accepted_by", "accepted_at", "accepted_until"]


def findings(period: Period) -> QueryCsv:
    """Findings open at some time in the period: detected before its end and not resolved
    before its start (a finding's history lives on one row, see Finding)."""
    qs = Finding.objects.filter(first_detected_at__lt=period.end_at).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=period.start_at)
        | Q(status="open"))
    return QueryCsv(FINDING_HEADER, qs, [
        "code", "identity__code", "identity__name", "rule", "severity", "owasp", "status",
        "first_detected_at", "opened_at", "last_detected_at", "resolved_at",
        "resolved_by__email", "resolved_why", "accepted_by__email", "accepted_at",
        "accepted_until"])


EXCEPTION_HEADER = ["finding_code", "identity_code", "identity_name", "rule", "severity",
                    "approver", "accepted_at", "expires", "reason", "status_now",
                    "expired_in_period"]


def exceptions(period: Period) -> CsvFile:
    """Accepted risks in force at some time in the period, with approver and expiry."""
    qs = Finding.objects.filter(accepted_at__isnull=False, accepted_at__lt=period.end_at).filter(
        Q(accepted_until__isnull=True) | Q(accepted_until__gte=period.start))
    rows = _stream(qs, ["code", "identity__code", "identity__name", "rule", "severity",
                        "accepted_by__email", "accepted_at", "accepted_until", "accepted_reason",
                        "status"])
    end = period.end
    return CsvFile(EXCEPTION_HEADER, (
        [*r, "yes" if r[7] is not None and r[7] <= end else "no"] for r in rows))


COVERAGE_HEADER = ["source_code", "name", "kind", "enabled", "schedule", "identities",
                   "runs_in_period", "succeeded", "failed", "held", "last_run_at",
                   "last_success_at"]


def sync_coverage(period: Period) -> CsvFile:
    """Each source with its runs in the period and its last success up to the period's end."""
    window = Q(runs__started_at__gte=period.start_at, runs__started_at__lt=period.end_at)
    before_end = Q(runs__started_at__lt=period.end_at)
    qs = Source.objects.annotate(
        n_runs=Count("runs", filter=window),
        n_ok=Count("runs", filter=window & Q(runs__status="succeeded")),
        n_failed=Count("runs", filter=window & Q(runs__status="failed")),
        n_held=Count("runs", filter=window & Q(runs__status="held")),
        last_run=Max("runs__started_at", filter=before_end),
        last_ok=Max("runs__finished_at", filter=before_end & Q(runs__status="succeeded")))
    # One grouped count for all sources, rather than a join of every identity per source.
    sizes = dict(Identity.objects.values_list("source").annotate(n=Count("id")).order_by())
    rows = _stream(qs, ["id", "code", "name", "kind", "enabled", "schedule", "n_runs", "n_ok",
                        "n_failed", "n_held", "last_run", "last_ok"])
    return CsvFile(COVERAGE_HEADER, (
        [*r[1:6], sizes.get(r[0], 0), *r[6:]] for r in rows))


RUN_HEADER = ["run_code", "source", "status", "started_at", "finished_at", "seen", "created",
              "updated", "unchanged", "missing", "returned", "triggered_by", "error"]


def sync_runs(period: Period) -> CsvFile:
    qs = SyncRun.objects.filter(started_at__gte=period.start_at, started_at__lt=period.end_at)
    return CsvFile(RUN_HEADER, _stream(qs, [
        "code", "source__name", "status", "started_at", "finished_at", "seen", "created",
        "updated", "unchanged", "missing", "returned", "triggered_by", "error"]))


ALERT_HEADER = ["alert_code", "channel", "target", "status", "attempts", "created_at",
                "sent_at", "event_type", "severity", "rule", "identity_code", "last_error"]


def redact_target(channel: str, target: str) -> str:
    """Webhook URLs often carry a token in their path or query (Slack, Teams): keep only
    scheme and host. Email addresses and syslog host:port are not secret."""
    if channel != AlertDelivery.Channel.WEBHOOK:
        return target
    parts = urlsplit(target)
    return f"{parts.scheme}://{parts.hostname or ''}/…" if parts.scheme else "(redacted)"


def redact_error(channel: str, target: str, error: str) -> str:
    """HTTP client errors quote the URL they failed on ("... with url: /services/T0/B0/x"):
    take the webhook's path and query out of the error text as well."""
    if channel != AlertDelivery.Channel.WEBHOOK or not error:
        return error[:500]
    parts = urlsplit(target)
    for secret in (target, parts.path + ("?" + parts.query if parts.query else ""),
                   parts.path, parts.query):
        if len(secret) > 1:
            error = error.replace(secret, "…")
    return error[:500]


def _alert_row(row: tuple) -> list:
    code, channel, target, status, attempts, created, sent, payload, error = row
    payload = payload if isinstance(payload, dict) else {}
    identity = payload.get("identity") if isinstance(payload.get("identity"), dict) else {}
    return [code, channel, redact_target(channel, target), status, attempts, created, sent,
            payload.get("type", ""), payload.get("severity", ""), payload.get("rule", ""),
            identity.get("code", ""), redact_error(channel, target, error or "")]


def alerts(period: Period) -> CsvFile:
    qs = AlertDelivery.objects.filter(created_at__gte=period.start_at,
                                      created_at__lt=period.end_at)
    rows = _stream(qs, ["code", "channel", "target", "status", "attempts", "created_at",
                        "sent_at", "payload", "last_error"])
    return CsvFile(ALERT_HEADER, (_alert_row(r) for r in rows))


AUDIT_HEADER = ["id", "at", "actor_type", "actor", "action", "object_type", "object_id",
                "object_repr", "reason", "before", "after", "request_id", "prev_hash", "hash"]


def audit_in(period: Period) -> QuerySet:
    return AuditEvent.objects.filter(at__gte=period.start_at, at__lt=period.end_at)


def audit_events(period: Period) -> QueryCsv:
    """The period's events with both hashes. before/after are JSON (on PostgreSQL in jsonb's
    own text form); the hash covers the values, see nhigov.lib.audit.event_digest."""
    return QueryCsv(AUDIT_HEADER, audit_in(period), AUDIT_HEADER)


# name -> producer, in the order the pack writes them.
DATA_FILES: dict[str, Callable[[Period], CsvFile | QueryCsv]] = {
    "inventory.csv": inventory,
    "rotation_log.csv": rotation_log,
    "review_campaigns.csv": review_campaigns,
    "review_decisions.csv": review_decisions,
    "findings.csv": findings,
    "exceptions.csv": exceptions,
    "sync_coverage.csv": sync_coverage,
    "sync_runs.csv": sync_runs,
    "alerts.csv": alerts,
    "audit_events.csv": audit_events,
}
