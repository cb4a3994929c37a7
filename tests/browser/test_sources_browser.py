"""Sources in a real browser: an admin creates a source and tests its connection; an
analyst runs a source, watches the list refresh itself, and confirms a held run."""

import json

import pytest

from inventory import discovery
from inventory.models import Identity, Source, SyncRun
from nhigov.models import AuditEvent
from tests.inventory.discovery_helpers import eager_fixture, fake_source_fixture  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_creates_a_source_and_tests_its_connection(login, eager, shots):
    page = login("admin")
    page.goto("/sources/")
    page.click("text=New source")
    page.fill("#id_name", "certs-edge")
    page.select_option("#id_kind", "certificates")
    page.fill("#id_config", '{"directories": ["/srv/certs"], "password": "hunter2"}')
    page.fill("#id_schedule", "0 25 * * *")
    page.click("form.panel button[type=submit]")
    errors = page.locator(".errorlist").all_inner_texts()
    assert any("look like secrets: password" in e for e in errors)
    assert any("hour field '25'" in e for e in errors)
    page.screenshot(path=f"{shots}/source-form-errors.png", full_page=True)

    page.fill("#id_config", json.dumps({"directories": ["/nonexistent/nhigov-certs"]}))
    page.fill("#id_schedule", "30 2 * * *")
    page.fill("#id_reason", "edge proxies' certificates")
    page.click("form.panel button[type=submit]")
    source = Source.objects.get(name="certs-edge")
    page.wait_for_url(f"**/sources/{source.code}/")
    assert "Source certs-edge created." in page.inner_text(".messages")
    assert "directories" in page.inner_text("[data-testid=params]")

    page.click("text=Test connection")  # HTMX: only the result panel changes
    result = page.locator("[data-testid=check-result]")
    result.wait_for()
    assert "bad_config" in result.inner_text()
    assert "does not exist" in result.inner_text()
    assert AuditEvent.objects.filter(action="source.create", reason__contains="edge").exists()
    page.screenshot(path=f"{shots}/source-detail-test.png", full_page=True)


def test_it_runs_a_source_and_refreshes_the_list_while_a_run_goes_on(login, fake_source,
                                                                    eager, shots):
    fake = fake_source(name="aws-prod-fake", count=6, schedule="*/15 * * * *")
    other = fake_source(name="vault-fake", count=2)
    discovery.run_source(other, "schedule")
    running = SyncRun.objects.create(source=other, seen=120)  # a run going on elsewhere
    page = login("analyst")
    page.goto("/sources/")
    assert page.locator("#source-table[data-polling]").count() == 1

    row = page.locator("tr[data-source='aws-prod-fake']")
    row.locator("button:has-text('Run now')").click()
    page.wait_for_url("**/sources/")
    assert "run succeeded — 6 seen, 6 created" in page.inner_text(".messages")
    assert "Succeeded" in row.inner_text()
    assert Identity.objects.filter(source=fake).count() == 6
    page.screenshot(path=f"{shots}/source-list.png", full_page=True)

    SyncRun.objects.filter(pk=running.pk).update(status="succeeded", finished_at=running
                                                 .started_at)
    vault_row = page.locator("tr[data-source='vault-fake']")
    vault_row.locator("text=Succeeded").wait_for(timeout=10_000)  # polled, not reloaded
    page.wait_for_function("!document.querySelector('#source-table[data-polling]')")


def test_it_confirms_a_held_run(login, fake_source, eager, shots):
    source = fake_source(name="k8s-fake", count=10)
    discovery.run_source(source, "schedule")
    source.config = {"count": 3}
    source.save()
    held = discovery.run_source(source, "schedule")
    page = login("analyst")
    page.goto(f"/sources/{source.code}/")
    banner = page.locator("[data-testid=held-run]")
    assert "7 of 10 known identities (70%)" in banner.inner_text()
    page.screenshot(path=f"{shots}/source-detail-held.png", full_page=True)

    page.on("dialog", lambda dialog: dialog.accept())
    banner.locator("textarea[name=reason]").fill("Namespace retired in CHG-7")
    banner.locator("button[value=confirm]").click()
    page.wait_for_selector("text=Confirmed: 7 identities marked missing.")
    held.refresh_from_db()
    assert held.status == "succeeded"
    assert Identity.objects.filter(source=source, status="missing").count() == 7
