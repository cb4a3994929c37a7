"""The evidence pack page in Chromium: an auditor picks a framework and a period, the ZIP
downloads, and the export then shows under recent exports. Owners get no link to it."""

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.factories import IdentityFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_it_downloads_a_pack_and_lists_the_export(page, login, users, shots):
    IdentityFactory(name="svc-payments-api", purpose="Charges cards")
    login("auditor")
    page.click("nav >> text=Evidence packs")
    page.wait_for_selector("[data-testid=pack-form]")
    page.select_option("#id_framework", "pci_dss")
    page.fill("#id_start", "2026-07-01")
    page.fill("#id_end", "2026-09-30")
    page.screenshot(path=f"{shots}/evidence-pack-form.png", full_page=True)

    with page.expect_download() as info:
        page.click("[data-testid=pack-form] button[type=submit]")
    download = info.value
    assert download.suggested_filename == "nhigov-evidence-pci_dss-20260701-20260930.zip"
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    assert json.loads(archive.read("manifest.json"))["framework"]["key"] == "pci_dss"
    assert "svc-payments-api" in archive.read("inventory.csv").decode()

    # The summary inside the pack, as an auditor's browser shows it.
    summary = page.context.new_page()
    summary.set_content(archive.read("summary.html").decode())
    assert "Evidence pack — PCI DSS 4.0.1" in summary.inner_text("h1")
    assert "7.2.5.1" in summary.inner_text("body")
    summary.screenshot(path=f"{shots}/evidence-summary-html.png", full_page=True)
    summary.close()

    page.reload()
    recent = page.locator("[data-testid=pack-recent]")
    assert "PCI DSS 4.0.1" in recent.inner_text()
    assert "auditor@example.test" in recent.inner_text()
    page.screenshot(path=f"{shots}/evidence-pack-page.png", full_page=True)


def test_it_gives_owners_no_way_in(page, login):
    login("owner")
    assert page.locator("nav >> text=Evidence packs").count() == 0
    response = page.goto("/evidence/")
    assert response.status == 403
