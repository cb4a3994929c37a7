"""Alerts: an email digest to owners and analysts, JSON events to a webhook and to syslog,
delivered to real loopback receivers; failures retried with backoff and visible."""

import json
import socket
import socketserver
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from inventory.models import AlertDelivery
from inventory.risk import alerts
from inventory.risk.engine import evaluate_all
from tests.factories import CredentialFactory, PersonFactory
from tests.risk.cases import clean_identity, days

pytestmark = pytest.mark.django_db


class Webhook(BaseHTTPRequestHandler):
    received: list = []
    status = 204

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Webhook.received.append((self.headers["Content-Type"], json.loads(body)))
        self.send_response(Webhook.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Webhook.received, Webhook.status = [], 204
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/siem", Webhook
    server.shutdown()
    server.server_close()


@pytest.fixture
def udp_syslog():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield f"udp://127.0.0.1:{sock.getsockname()[1]}", sock
    sock.close()


@pytest.fixture
def tcp_syslog():
    lines: list[bytes] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            lines.append(self.rfile.read())

    server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}", lines
    server.shutdown()
    server.server_close()


@pytest.fixture
def critical(users):
    owner = PersonFactory(email="dana@example.test")
    identity = clean_identity(name="svc-github-deploy", technical_owner=owner,
                              business_owner=None,
                              attributes={"trust": {"oidc_sub_restricted": False}})
    run = evaluate_all("nightly")
    return identity, run


def test_new_critical_findings_go_to_owners_and_analysts_by_email(settings, critical):
    settings.RISK_ALERT_EMAILS = ["soc@example.test"]
    identity, run = critical
    queued = alerts.queue_for_run(run)
    assert set(AlertDelivery.objects.values_list("target", flat=True)) == {
        "dana@example.test", "analyst@example.test", "soc@example.test"}
    assert queued == 3
    assert alerts.deliver_due() == 3
    message = next(m for m in mail.outbox if m.to == ["dana@example.test"])
    assert message.subject == "[nhigov] 1 machine identity alert"
    assert "[CRITICAL] Federated trust without a subject condition (NHI6): svc-github-deploy" \
        in message.body
    html = message.alternatives[0][0]
    assert f"/identities/{identity.code}/" in html and "svc-github-deploy" in html
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {"sent"}
    assert alerts.deliver_due() == 0  # nothing sent twice


def test_events_go_to_a_webhook_and_to_syslog_over_udp(settings, critical, webhook, udp_syslog):
    settings.RISK_WEBHOOK_URL, handler = webhook
    settings.RISK_SYSLOG_URL, sock = udp_syslog
    identity, run = critical
    alerts.queue_for_run(run)
    alerts.deliver_due()
    content_type, event = handler.received[0]
    assert content_type == "application/json"
    assert event["type"] == "critical_finding" and event["source"] == "nhigov"
    assert event["rule"] == "config.oidc_unrestricted" and event["owasp"] == "NHI6"
    assert event["identity"]["code"] == str(identity.code)
    line = sock.recv(65535).decode()
    assert line.startswith("<162>1 ")  # local4.critical, RFC 5424
    header, _, body = line.partition(" - {")
    assert " nhigov - critical_finding" in header
    assert json.loads("{" + body)["identity"]["name"] == "svc-github-deploy"


def test_syslog_over_tcp_uses_octet_counting(settings, critical, tcp_syslog):
    settings.RISK_SYSLOG_URL, lines = tcp_syslog
    alerts.queue_for_run(critical[1])
    alerts.deliver_due()
    for _ in range(50):
        if lines:
            break
        threading.Event().wait(0.05)
    length, _, frame = lines[0].decode().partition(" ")
    assert int(length) == len(frame.encode()) and frame.startswith("<162>1 ")


def test_failed_deliveries_are_retried_with_backoff_then_kept_visible(settings, critical,
                                                                      client_for):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    settings.RISK_WEBHOOK_URL = f"http://127.0.0.1:{port}/down"
    settings.RISK_ALERT_MAX_ATTEMPTS = 2
    alerts.queue_for_run(critical[1])
    alerts.deliver_due()
    hook = AlertDelivery.objects.get(channel="webhook")
    assert (hook.status, hook.attempts) == ("pending", 1)
    assert hook.next_attempt_at > timezone.now() + timedelta(minutes=1)
    assert "Connection refused" in hook.last_error or "URLError" in hook.last_error
    AlertDelivery.objects.filter(pk=hook.pk).update(next_attempt_at=timezone.now())
    alerts.deliver_due()
    hook.refresh_from_db()
    assert (hook.status, hook.attempts, hook.next_attempt_at) == ("failed", 2, None)
    page = client_for("auditor").get("/risk/alerts/?status=failed").content.decode()
    assert "Webhook" in page and "Failed" in page


def test_rotation_deadlines_and_dormant_then_active_are_alerted(settings, users):
    due = clean_identity(name="svc-due-soon")
    CredentialFactory(identity=due, kind="access_key", created_at_source=days(-83.5))
    later = clean_identity(name="svc-not-yet")
    CredentialFactory(identity=later, kind="access_key", created_at_source=days(-60))
    sleeper = clean_identity(name="svc-sleeper", last_used_at=days(-200))
    evaluate_all("nightly")
    sleeper.last_used_at = timezone.now()
    sleeper.save()
    run = evaluate_all("nightly")
    events = alerts.collect_events(run)
    kinds = {(e["type"], e["identity"]["name"]) for e in events}
    assert ("rotation_due", "svc-due-soon") in kinds
    assert ("dormant_then_active", "svc-sleeper") in kinds
    assert not any(name == "svc-not-yet" for _, name in kinds)
