"""Alerts: new critical findings, dormant-then-active identities, rotation deadlines
approaching and certificates expiring go out as an email digest (to owners and
analysts), and as JSON events to a webhook and to syslog for the SIEM.

Queueing writes one AlertDelivery row per recipient/target; delivery claims due rows with
an optimistic UPDATE (overlapping workers never double-send), and a failed delivery is
retried with exponential backoff up to RISK_ALERT_MAX_ATTEMPTS, then stays `failed` and
visible on the Alerts page.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import urllib.request
from collections import defaultdict
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from inventory.models import AlertDelivery, Finding, Identity, RiskRun
from inventory.models.risk import FindingStatus, Severity
from inventory.risk import policy as policies
from inventory.risk.facts import verdict_ids
from inventory.risk.registry import get_rule

logger = logging.getLogger(__name__)
Channel, Status = AlertDelivery.Channel, AlertDelivery.Status
EVENT_RULES = {"dormancy.reactivated": "dormant_then_active", "certs.expiring": "cert_expiring",
               "certs.expired": "cert_expired"}
LEASE = dt.timedelta(minutes=5)


def configured_channels() -> dict:
    return {"email": True, "webhook": settings.RISK_WEBHOOK_URL,
            "syslog": settings.RISK_SYSLOG_URL}


def _event(kind: str, identity: Identity, rule_code: str, severity: str, at) -> dict:
    rule = get_rule(rule_code)
    return {
        "type": kind, "at": at.isoformat(), "severity": severity, "rule": rule_code,
        "title": rule.title if rule else rule_code, "owasp": rule.owasp if rule else "",
        "identity": {"code": str(identity.code), "name": identity.name, "kind": identity.kind,
                     "provider": identity.provider,
                     "url": settings.SITE_URL + identity.get_absolute_url()},
    }


def _since(run: RiskRun) -> dt.datetime:
    previous = RiskRun.objects.filter(trigger="nightly", started_at__lt=run.started_at,
                                      error="").order_by("-started_at").first()
    return previous.started_at if previous else run.started_at - dt.timedelta(days=1)


def collect_events(run: RiskRun) -> list[dict]:
    """Events since the previous nightly run: findings opened (critical, dormant-then-active,
    certificates), and identities whose rotation falls due within the warning window."""
    since = _since(run)
    new = Finding.objects.filter(status=FindingStatus.OPEN, opened_at__gt=since,
                                 opened_at__lte=run.started_at).filter(
        Q(severity=Severity.CRITICAL) | Q(rule__in=EVENT_RULES)).select_related("identity")
    events = [_event("critical_finding" if f.severity == Severity.CRITICAL and
                     f.rule not in EVENT_RULES else EVENT_RULES[f.rule], f.identity, f.rule,
                     f.severity, f.opened_at) for f in new]
    return events + _rotation_due(run.started_at)


def _rotation_due(now: dt.datetime) -> list[dict]:
    """Rotation overdue in `warning` days but not a day earlier: each identity once."""
    warning = settings.RISK_ROTATION_WARNING_DAYS
    policy = policies.current()
    due = set(verdict_ids("lifecycle.rotation_overdue", policy, now + dt.timedelta(days=warning)))
    due -= set(verdict_ids("lifecycle.rotation_overdue", policy,
                           now + dt.timedelta(days=warning - 1)))
    return [_event("rotation_due", identity, "lifecycle.rotation_overdue", Severity.MEDIUM, now)
            for identity in Identity.objects.filter(id__in=due)]


def _recipients(events: list[dict]) -> dict[str, list[dict]]:
    """Owners get their identities' events; analysts (and RISK_ALERT_EMAILS) get all."""
    codes = {e["identity"]["code"] for e in events}
    by_code = defaultdict(set)
    for identity in Identity.objects.filter(code__in=codes).select_related(
            "technical_owner", "business_owner"):
        for person in (identity.technical_owner, identity.business_owner):
            if person and person.is_active:
                by_code[str(identity.code)].add(person.email)
    out: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        for email in by_code.get(event["identity"]["code"], ()):
            out[email].append(event)
    analysts = set(settings.RISK_ALERT_EMAILS) | set(
        get_user_model().objects.filter(groups__name="analyst", is_active=True)
        .exclude(email="").values_list("email", flat=True))
    for email in analysts:
        out[email] = events
    return out


def queue_for_run(run: RiskRun) -> int:
    """Queue the deliveries for a run's events; returns how many were queued."""
    events = collect_events(run)
    if not events:
        return 0
    now = timezone.now()
    rows = [AlertDelivery(channel=Channel.EMAIL, target=email, next_attempt_at=now,
                          payload={"run": str(run.code), "events": mine})
            for email, mine in sorted(_recipients(events).items())]
    for url, channel in ((settings.RISK_WEBHOOK_URL, Channel.WEBHOOK),
                         (settings.RISK_SYSLOG_URL, Channel.SYSLOG)):
        if url:
            rows += [AlertDelivery(channel=channel, target=url, payload=e, next_attempt_at=now)
                     for e in events]
    AlertDelivery.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def deliver_due(limit: int = 500) -> int:
    """Send due deliveries; returns how many were sent."""
    now = timezone.now()
    due = list(AlertDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at").values_list("id", flat=True)[:limit])
    sent = 0
    for pk in due:
        # Claim: push the next attempt out; a concurrent worker's UPDATE then matches nothing.
        if not AlertDelivery.objects.filter(pk=pk, status=Status.PENDING,
                                            next_attempt_at__lte=now).update(
                next_attempt_at=now + LEASE):
            continue
        sent += _attempt(AlertDelivery.objects.get(pk=pk))
    return sent


def _attempt(delivery: AlertDelivery) -> bool:
    delivery.attempts += 1
    try:
        SENDERS[delivery.channel](delivery)
    except Exception as exc:  # any failure is recorded and retried
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        final = delivery.attempts >= settings.RISK_ALERT_MAX_ATTEMPTS
        delivery.status = Status.FAILED if final else Status.PENDING
        delivery.next_attempt_at = None if final else timezone.now() + dt.timedelta(
            minutes=2 ** delivery.attempts)
        delivery.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
        logger.warning("alert %s to %s failed: %s", delivery.channel, delivery.target, exc)
        return False
    delivery.status, delivery.sent_at, delivery.last_error = Status.SENT, timezone.now(), ""
    delivery.save(update_fields=["attempts", "status", "sent_at", "last_error"])
    return True


def _send_email(delivery: AlertDelivery) -> None:
    events = delivery.payload.get("events", [])
    context = {"events": events, "count": len(events), "site_url": settings.SITE_URL}
    subject = render_to_string("risk/emails/digest_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject, render_to_string("risk/emails/digest.txt", context),
        settings.DEFAULT_FROM_EMAIL, [delivery.target])
    message.attach_alternative(render_to_string("risk/emails/digest.html", context),
                               "text/html")
    message.send()


def _send_webhook(delivery: AlertDelivery) -> None:
    body = json.dumps({"source": "nhigov", **delivery.payload}).encode()
    # The target comes from RISK_WEBHOOK_URL, which settings restrict to http(s).
    request = urllib.request.Request(delivery.target, data=body, method="POST",  # noqa: S310
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "nhigov-alerts"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise OSError(f"HTTP {response.status}")


def syslog_line(payload: dict) -> bytes:
    """RFC 5424: facility local4, severity from the event; the message is the JSON event."""
    level = {"critical": 2, "high": 3, "medium": 4, "low": 5}.get(payload.get("severity"), 5)
    stamp = timezone.now().isoformat(timespec="milliseconds")
    host = socket.gethostname()[:255] or "-"
    body = json.dumps({"source": "nhigov", **payload}, separators=(",", ":"))
    return f"<{20 * 8 + level}>1 {stamp} {host} nhigov - {payload.get('type', 'alert')} - " \
           f"{body}".encode()


def _send_syslog(delivery: AlertDelivery) -> None:
    target = urlparse(delivery.target)
    line = syslog_line(delivery.payload)
    address = (target.hostname, target.port or 514)
    if target.scheme == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(line, address)
        return
    with socket.create_connection(address, timeout=10) as sock:  # RFC 6587 octet counting
        sock.sendall(f"{len(line)} ".encode() + line)


SENDERS = {Channel.EMAIL: _send_email, Channel.WEBHOOK: _send_webhook,
           Channel.SYSLOG: _send_syslog}
