"""The dashboard in a real browser: charts drawn from the vendored Chart.js with no console
errors, numbers and chart bars that open the register filtered to those identities, and
a finding accepted from the identity page."""

import datetime as dt

import pytest
from django.utils import timezone

from inventory.models import Finding
from inventory.risk.engine import evaluate_all
from inventory.risk.snapshots import take_snapshot
from tests.factories import CredentialFactory
from tests.risk.cases import clean_identity, days

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def risky(users):
    for n in range(4):
        clean_identity(name=f"svc-orphan-{n}", technical_owner=None, business_owner=None)
    admin = clean_identity(name="svc-ledger-admin", privilege="admin", interactive_login=True)
    old = clean_identity(name="svc-old-key", auth_method="static_secret")
    CredentialFactory(identity=old, kind="access_key", created_at_source=days(-120))
    clean_identity(name="svc-open-trust", attributes={"trust": {"oidc_sub_restricted": False}})
    evaluate_all("test")
    take_snapshot(timezone.localdate() - dt.timedelta(days=1))
    return admin


def register_rows(page) -> list[str]:
    return page.locator("[data-testid=register] tbody tr td.name a").all_inner_texts()


def test_it_draws_the_dashboard_and_links_every_number(login, risky, shots):
    page = login("analyst")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/dashboard/")
    page.wait_for_selector("body[data-charts=drawn]")
    for chart in ("classification", "severity", "owasp", "trend", "trend-findings"):
        box = page.locator(f"#chart-{chart}").bounding_box()
        assert box and box["width"] > 150 and box["height"] > 100, chart
    assert page.evaluate("typeof window.Chart") == "function"
    assert errors == []
    page.screenshot(path=f"{shots}/dashboard.png", full_page=True)

    assert page.inner_text("[data-testid=metric-unknown]") == "4"
    page.click("[data-testid=metric-unknown]")
    page.wait_for_url("**/identities/?**rule=ownership.no_owner**")
    assert sorted(register_rows(page)) == [f"svc-orphan-{n}" for n in range(4)]

    page.goto("/dashboard/")
    page.wait_for_selector("body[data-charts=drawn]")
    assert page.inner_text("[data-testid=metric-interactive]") == "1"
    page.click("[data-testid=metric-interactive]")
    page.wait_for_url("**interactive_login=true**")
    assert register_rows(page) == ["svc-ledger-admin"]


def test_a_chart_bar_opens_the_register(login, risky):
    page = login("analyst")
    page.goto("/dashboard/")
    page.wait_for_selector("body[data-charts=drawn]")
    # Where Chart.js drew the "Critical" bar of the severity chart.
    point = page.evaluate("""() => {
        const bar = window.Chart.getChart("chart-severity").getDatasetMeta(0).data[0];
        return {x: bar.x, y: (bar.y + bar.base) / 2};
    }""")
    page.locator("#chart-severity").click(position=point)
    page.wait_for_url("**finding_severity=critical**")
    assert register_rows(page) == ["svc-open-trust"]


def test_an_analyst_accepts_a_finding_from_the_identity_page(login, risky, shots):
    page = login("analyst")
    page.goto(f"/identities/{risky.code}/")
    row = page.locator("[data-testid=identity-findings] tr[data-rule='privilege.admin']")
    row.locator("summary").click()
    until = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    row.locator("input[name=until]").fill(until)
    row.locator("[data-testid=accept-form] input[name=reason]").fill("Break-glass role, CHG-88")
    page.screenshot(path=f"{shots}/identity-triage.png", full_page=True)
    row.locator("[data-testid=accept-form] button").click()
    page.wait_for_url(f"**/identities/{risky.code}/")
    assert "accepted until" in page.inner_text(".messages")
    accepted = Finding.objects.get(identity=risky, rule="privilege.admin")
    assert accepted.status == "accepted" and accepted.accepted_until.isoformat() == until
    assert "Break-glass role, CHG-88" in page.inner_text("[data-testid=history]")


def test_analysts_land_on_the_dashboard_and_owners_on_their_register(login, risky, shots):
    page = login("analyst")
    assert page.url.endswith("/dashboard/")
    page.click("text=Findings >> nth=0")
    page.wait_for_url("**/findings/**")
    rows = page.locator("table.data tbody tr")
    assert rows.count() == Finding.objects.filter(status="open").count()
    page.screenshot(path=f"{shots}/findings.png", full_page=True)
    page.click("text=Sign out")
    owner = login("owner")
    assert owner.url.endswith("/identities/")
