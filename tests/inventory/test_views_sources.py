"""Sources pages: who may see and do what, the create/edit form's checks and audit, Run
now, HTMX polling, held-run review, Test connection, and a flat query count."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory import discovery
from inventory.models import Identity, Source, SyncRun
from nhigov.models import AuditEvent
from tests.inventory.discovery_helpers import eager_fixture, fake_source_fixture  # noqa: F401
from tests.live import fake_connector

pytestmark = pytest.mark.django_db

LIST = reverse("inventory:source_list")
CREATE = reverse("inventory:source_create")
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, source: Source, **kwargs) -> str:
    return reverse(f"inventory:{name}", kwargs={"code": source.code, **kwargs})


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def form_data(**overrides) -> dict:
    data = {"name": "vault-prod", "kind": "vault", "schedule": "0 * * * *", "enabled": "on",
            "missing_threshold": "0.2", "reason": "new vault cluster",
            "config": json.dumps({"url": "https://vault.internal:8200", "token_env": "VT"})}
    data.update(overrides)
    return data


# --- access ------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [
    ("admin", 200), ("analyst", 200), ("auditor", 200), ("owner", 403)])
def test_it_shows_sources_to_register_readers_only(client_for, fake_source, role, status):
    source = fake_source()
    client = client_for(role)

    assert client.get(LIST).status_code == status
    assert client.get(url("source_detail", source)).status_code == status


@pytest.mark.parametrize(("role", "status"), [
    ("admin", 200), ("analyst", 403), ("auditor", 403), ("owner", 403)])
def test_it_lets_only_admins_create_and_edit(client_for, fake_source, role, status):
    source = fake_source()
    client = client_for(role)

    assert client.get(CREATE).status_code == status
    assert client.get(url("source_edit", source)).status_code == status
    if status == 403:
        assert client.post(CREATE, form_data()).status_code == 403
        assert client.post(url("source_edit", source), form_data()).status_code == 403
        assert Source.objects.count() == 1


@pytest.mark.parametrize(("role", "allowed"), [
    ("admin", True), ("analyst", True), ("auditor", False), ("owner", False)])
def test_it_lets_analysts_and_admins_run_and_test(client_for, fake_source, eager, role,
                                                  allowed):
    source = fake_source()
    client = client_for(role)

    run = client.post(url("source_run", source))
    test = client.post(url("source_test", source))

    assert (run.status_code, test.status_code) == ((302, 200) if allowed else (403, 403))
    assert SyncRun.objects.exists() is allowed


def test_it_offers_each_role_only_its_buttons(client_for, fake_source):
    source = fake_source()
    admin = page(client_for("admin").get(url("source_detail", source)))
    analyst = page(client_for("analyst").get(url("source_detail", source)))
    auditor = page(client_for("auditor").get(url("source_detail", source)))

    assert "Run now" in admin and "Edit</a>" in admin and "Test connection" in admin
    assert "Run now" in analyst and "Edit</a>" not in analyst and "Test connection" in analyst
    assert "Run now" not in auditor and "Test connection" not in auditor
    assert "New source" in page(client_for("admin").get(LIST))
    assert "New source" not in page(client_for("analyst").get(LIST))


# --- create and edit ---------------------------------------------------------------------


def test_it_creates_a_source_and_audits_it(client_for):
    response = client_for("admin").post(CREATE, form_data())

    source = Source.objects.get()
    assert response.status_code == 302 and response.url == url("source_detail", source)
    assert source.config == {"url": "https://vault.internal:8200", "token_env": "VT"}
    assert (source.kind, source.schedule, source.enabled) == ("vault", "0 * * * *", True)
    event = AuditEvent.objects.get(action="source.create")
    assert event.object_id == str(source.code) and event.reason == "new vault cluster"
    assert event.after["config"] == source.config and event.actor == "admin@example.test"


@pytest.mark.parametrize(("overrides", "text"), [
    ({"config": "{not json"}, "Not valid JSON"),
    ({"config": "[1, 2]"}, "Give a JSON object"),
    ({"config": json.dumps({"url": "https://v:8200", "token": "hvs.abc"})},
     "look like secrets: token"),
    ({"config": json.dumps({"url": "https://v:8200",
                            "ca": "-----BEGIN PRIVATE KEY-----\nMIIE"})}, "look like secrets"),
    ({"config": json.dumps({"token_env": "VT"})}, "&#x27;url&#x27; is required"),
    ({"config": json.dumps({"url": "https://v:8200", "regoin": "x"})}, "unknown parameter"),
    ({"schedule": "0 0 * 13 *"}, "month field"),
    ({"schedule": "hourly"}, "five cron fields"),
    ({"missing_threshold": "1.5"}, "between 0 and 1"),
    ({"kind": "file"}, "Select a valid choice"),
])
def test_it_refuses_bad_input_with_a_clear_error(client_for, overrides, text):
    response = client_for("admin").post(CREATE, form_data(**overrides))

    assert text in page(response)
    assert not Source.objects.exists()
    assert not AuditEvent.objects.exists()


def test_it_edits_a_source_with_before_and_after_in_the_audit(client_for):
    config = {"url": "https://vault:8200", "token_env": "VT"}
    source = Source.objects.create(name="vault", kind="vault", config=config,
                                   schedule="0 * * * *", next_run_at="2030-01-01T00:00:00Z")

    response = client_for("admin").post(url("source_edit", source), {
        "name": "vault", "kind": "aws",  # the kind is fixed: a posted kind is ignored
        "config": json.dumps({**config, "namespace": "team-a"}), "schedule": "*/5 * * * *",
        "missing_threshold": "0.3", "reason": "faster"})

    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.kind, source.config["namespace"], source.enabled) == ("vault", "team-a",
                                                                         False)
    assert source.next_run_at is None  # re-planned under the new schedule
    event = AuditEvent.objects.get(action="source.update")
    assert event.before == {"config": config, "schedule": "0 * * * *", "enabled": True,
                            "missing_threshold": 0.2}
    assert event.after["schedule"] == "*/5 * * * *" and event.reason == "faster"


def test_it_validates_an_edit_against_the_source_kind(client_for, fake_source):
    source = fake_source()

    html = page(client_for("admin").post(url("source_edit", source), {
        "name": "fake", "config": '{"count": "x"}', "missing_threshold": "0.2"}))

    assert "whole number" in html
    assert not AuditEvent.objects.exists()


def test_it_records_nothing_when_nothing_changed(client_for, fake_source):
    source = fake_source()
    client = client_for("admin")

    client.post(url("source_edit", source), {
        "name": "fake", "config": '{"count": 3}', "schedule": "", "enabled": "on",
        "missing_threshold": "0.2"}, follow=True)

    assert not AuditEvent.objects.exists()


def test_it_prefills_the_form_with_pretty_json(client_for, fake_source):
    html = page(client_for("admin").get(url("source_edit", fake_source(count=5))))

    assert "{\n  &quot;count&quot;: 5\n}" in html


# --- the list and detail pages -----------------------------------------------------------


def test_it_lists_sources_with_their_last_run_and_next_run(client_for, fake_source):
    source = fake_source(count=2, schedule="*/10 * * * *")
    discovery.run_source(source, "tester")
    fake_source(name="never-run")

    html = page(client_for("auditor").get(LIST))

    assert url("source_detail", source) in html
    assert "Succeeded" in html and "never run" in html
    assert "next in" in html and "*/10 * * * *" in html
    assert "hx-trigger" not in html  # nothing runs: no polling


def test_it_polls_while_a_run_goes_on(client_for, fake_source):
    source = fake_source()
    SyncRun.objects.create(source=source)  # running

    html = page(client_for("analyst").get(LIST))
    partial = page(client_for("analyst").get(LIST, **HTMX))
    detail = page(client_for("analyst").get(url("source_detail", source), **HTMX))

    assert 'hx-trigger="every 3s"' in html and "Running…" in html
    assert partial.lstrip().startswith("<div id=\"source-table\"")
    assert "<html" not in partial and 'hx-trigger="every 3s"' in partial
    assert detail.lstrip().startswith("<section id=\"source-runs\"")
    assert 'hx-trigger="every 3s"' in detail


def test_it_polls_for_a_while_after_a_queued_run(client_for, fake_source, monkeypatch):
    fake_source()
    now = 1_800_000_000
    monkeypatch.setattr("inventory.views.sources.time.time", lambda: now)
    client = client_for("analyst")

    assert 'hx-trigger="every 3s"' in page(client.get(LIST, {"pending": now - 5}))
    assert "hx-trigger" not in page(client.get(LIST, {"pending": now - 120}))
    assert "hx-trigger" not in page(client.get(LIST, {"pending": "x"}))


def test_it_keeps_the_list_query_count_flat(client_for, fake_source):
    client = client_for("analyst")
    first = fake_source(name="s0")
    discovery.run_source(first, "t")
    client.get(LIST)  # warm caches (content types, role)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            page(client.get(LIST))
        return len(ctx)

    few = count()
    for n in range(1, 6):
        source = fake_source(name=f"s{n}", schedule="*/5 * * * *")
        for _ in range(3):
            discovery.run_source(source, "t")
    assert count() == few


def test_it_shows_config_params_and_runs_on_the_detail_page(client_for, fake_source):
    source = fake_source(count=2, config={"prefix": "svc"})
    discovery.run_source(source, "tester")
    source.config = {"count": 2, "prefix": "svc", "fail_after": 1}
    source.save()
    discovery.run_source(source, "tester")

    html = page(client_for("auditor").get(url("source_detail", source)))

    assert "&quot;prefix&quot;: &quot;svc&quot;" in html  # pretty JSON
    for param in fake_connector.FakeConnector.params:
        assert f"<code>{param.name}</code>" in html
    assert fake_connector.FakeConnector.auth in html
    runs = re.findall(r'<tr data-run="([0-9a-f-]+)">', html)
    assert len(runs) == 2
    assert "connection lost after 1 records" in html and "Failed" in html


# --- run now -----------------------------------------------------------------------------


def test_it_runs_a_source_now(client_for, fake_source, eager):
    source = fake_source(count=3)

    response = client_for("analyst").post(url("source_run", source), {"next": "detail"},
                                          follow=True)

    html = page(response)
    assert response.redirect_chain[-1][0] == url("source_detail", source)
    assert "run succeeded — 3 seen, 3 created" in html
    run = SyncRun.objects.get()
    assert run.triggered_by == "analyst@example.test"
    assert AuditEvent.objects.filter(action="source.sync_requested").count() == 1


def test_it_redirects_to_a_polling_list_when_a_worker_will_run_it(client_for, fake_source,
                                                                  monkeypatch):
    source = fake_source()
    monkeypatch.setattr("inventory.tasks.runs_in_process", lambda: False)
    monkeypatch.setattr("inventory.tasks.sync_source_task.apply_async", lambda *a, **k: None)

    client = client_for("admin")
    response = client.post(url("source_run", source))

    assert response.status_code == 302 and response.url.startswith(f"{LIST}?pending=")
    html = page(client.get(response.url))
    assert 'hx-trigger="every 3s"' in html and "run queued" in html


def test_it_says_when_a_run_is_already_going_on(client_for, fake_source, monkeypatch, eager):
    source = fake_source()
    monkeypatch.setattr("inventory.tasks.discovery.run_source", _locked)

    html = page(client_for("admin").post(url("source_run", source), follow=True))

    assert "a run is already going on" in html


def test_it_refuses_to_run_a_file_source(client_for, eager):
    source = Source.objects.create(name="manual-import", kind="file")

    html = page(client_for("analyst").post(url("source_run", source), follow=True))

    assert "has no connector to run" in html
    assert not SyncRun.objects.exists()
    assert "Run now" not in page(client_for("analyst").get(url("source_detail", source)))


def _locked(source, triggered_by):
    from inventory.sync import SyncInProgress

    raise SyncInProgress("busy")


# --- held runs ---------------------------------------------------------------------------


@pytest.fixture
def held(fake_source):
    source = fake_source(count=10)
    discovery.run_source(source, "first")
    source.config = {"count": 4}
    source.save()
    run = discovery.run_source(source, "second")
    assert run.status == "held"
    return run


def review(client, run, decision, reason="checked with the team"):
    target = url("source_held_run", run.source, run_code=run.code)
    return client.post(target, {"decision": decision, "reason": reason}, follow=True)


def test_it_shows_a_held_run_with_its_review_buttons(client_for, held):
    html = page(client_for("analyst").get(url("source_detail", held.source)))
    auditor = page(client_for("auditor").get(url("source_detail", held.source)))

    assert 'data-testid="held-run"' in html and "Held for review: 6 of 10" in html
    assert 'value="confirm"' in html and 'value="discard"' in html
    assert 'data-testid="held-run"' in auditor and 'value="confirm"' not in auditor


def test_it_confirms_a_held_run(client_for, held):
    html = page(review(client_for("analyst"), held, "confirm"))

    assert "Confirmed: 6 identities marked missing." in html
    assert Identity.objects.filter(status="missing").count() == 6
    assert AuditEvent.objects.get(action="sync_run.reviewed").reason == "checked with the team"


def test_it_discards_a_held_run(client_for, held):
    html = page(review(client_for("admin"), held, "discard"))

    assert "Discarded: nothing was marked missing." in html
    assert not Identity.objects.filter(status="missing").exists()
    held.refresh_from_db()
    assert held.status == "failed"


def test_it_needs_a_reason_and_an_editor_to_review(client_for, held):
    html = page(review(client_for("analyst"), held, "confirm", reason=""))
    refused = client_for("auditor").post(url("source_held_run", held.source, run_code=held.code),
                                         {"decision": "confirm", "reason": "x"})

    assert "Give a reason" in html
    assert refused.status_code == 403
    held.refresh_from_db()
    assert held.status == "held"


def test_it_refuses_a_superseded_held_run(client_for, held):
    discovery.run_source(held.source, "third")

    html = page(review(client_for("analyst"), held, "confirm"))

    assert "is failed, not held" in html  # the newer run closed it
    assert not Identity.objects.filter(status="missing").exists()


# --- test connection ---------------------------------------------------------------------


def test_it_shows_a_failing_connection_test(client_for, fake_source, eager):
    source = fake_source(config={"unreachable": True})

    partial = page(client_for("analyst").post(url("source_test", source), **HTMX))
    full = page(client_for("analyst").post(url("source_test", source)))

    assert 'data-testid="check-result"' in partial and "<html" not in partial
    assert "failed" in partial and "<code>unreachable</code>" in partial
    assert "connection refused" in partial
    assert "<html" in full and "connection refused" in full


def test_it_shows_a_bad_configuration_found_by_the_test(client_for, fake_source, eager):
    source = fake_source()
    Source.objects.filter(pk=source.pk).update(config={"count": "lots"})

    partial = page(client_for("admin").post(url("source_test", source), **HTMX))

    assert "<code>bad_config</code>" in partial and "whole number" in partial


def test_it_shows_a_passing_connection_test_with_details(client_for, fake_source, eager):
    partial = page(client_for("admin").post(url("source_test", fake_source(count=2)), **HTMX))

    assert "connected" in partial and "would report 2 identities" in partial
    assert "<dt>as</dt><dd><code>tester</code></dd>" in partial
