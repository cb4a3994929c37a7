"""Each rule on crafted identities: fires, does not fire, resolves when the condition
clears, reopens when it returns, and reopens when an acceptance expires."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Finding
from inventory.risk.engine import evaluate_all
from inventory.risk.registry import all_rules
from tests.risk.cases import CASES, clean_identity, days, setter, update
from tests.risk.helpers import evaluate_and_fired, finding, fired

pytestmark = pytest.mark.django_db

GENERIC = {c.rule for c in CASES}


def test_it_covers_every_rule_but_reactivation():
    assert {r.code for r in all_rules()} - GENERIC == {"dormancy.reactivated"}


def test_it_raises_nothing_on_a_clean_identity():
    identity = clean_identity()
    assert evaluate_and_fired(identity) == set()
    identity.refresh_from_db()
    assert identity.risk_score == 0
    assert identity.risk.classification == "active"


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_it_fires_resolves_reopens_and_expires_acceptance(case):
    identity = clean_identity(**(case.base or {}))
    assert case.rule not in evaluate_and_fired(identity)

    case.fire(identity)
    assert case.rule in evaluate_and_fired(identity)
    opened = finding(identity, case.rule)
    assert (opened.status, opened.reopen_count) == ("open", 0)

    case.clear(identity)
    evaluate_all("test")
    resolved = finding(identity, case.rule)
    assert resolved.status == "resolved"
    assert resolved.resolved_why == "condition no longer holds"
    assert resolved.resolved_by is None and resolved.resolved_at is not None

    case.fire(identity)
    evaluate_all("test")
    again = finding(identity, case.rule)
    assert (again.status, again.reopen_count) == ("open", 1)
    assert again.first_detected_at == opened.first_detected_at

    Finding.objects.filter(pk=again.pk).update(
        status="accepted", accepted_until=(timezone.now() - timedelta(days=1)).date(),
        accepted_reason="Vendor fix due", accepted_at=timezone.now())
    evaluate_all("test")
    expired = finding(identity, case.rule)
    assert (expired.status, expired.reopen_count) == ("open", 2)


def test_it_keeps_an_unexpired_acceptance():
    identity = clean_identity(purpose="")
    evaluate_all("test")
    Finding.objects.filter(identity=identity).update(
        status="accepted", accepted_until=days(30).date(), accepted_reason="ok")
    run = evaluate_all("test")
    assert run.expired == 0
    assert finding(identity, "ownership.no_purpose").status == "accepted"


def test_it_resolves_an_accepted_finding_when_the_condition_clears():
    identity = clean_identity(purpose="")
    evaluate_all("test")
    Finding.objects.filter(identity=identity).update(
        status="accepted", accepted_until=days(30).date(), accepted_reason="ok")
    update(identity, purpose="Exports invoices")
    evaluate_all("test")
    assert finding(identity, "ownership.no_purpose").status == "resolved"


def test_it_resolves_everything_when_the_identity_is_no_longer_active():
    identity = clean_identity(purpose="", privilege="admin")
    assert {"ownership.no_purpose", "privilege.admin"} <= evaluate_and_fired(identity)
    update(identity, status="deprovisioned")
    evaluate_all("test")
    assert fired(identity) == set()
    assert finding(identity, "privilege.admin").resolved_why == "identity is deprovisioned"
    identity.refresh_from_db()
    assert identity.risk_score == 0 and identity.risk.classification == ""


def test_it_flags_use_after_dormancy_within_the_window():
    identity = clean_identity(last_used_at=days(-120))
    assert "dormancy.dormant" in evaluate_and_fired(identity)
    update(identity, last_used_at=days(0))
    assert evaluate_and_fired(identity) >= {"dormancy.reactivated"}
    assert finding(identity, "dormancy.dormant").status == "resolved"
    # The finding stays open for the window (30 days), then resolves by itself.
    evaluate_all("test", now=days(20))
    assert "dormancy.reactivated" in fired(identity)
    evaluate_all("test", now=days(31))
    assert finding(identity, "dormancy.reactivated").status == "resolved"


def test_it_does_not_flag_an_identity_that_was_never_dormant():
    identity = clean_identity(last_used_at=days(-10))
    evaluate_all("test")
    update(identity, last_used_at=days(0))
    assert "dormancy.reactivated" not in evaluate_and_fired(identity)


def test_it_ignores_never_used_kubernetes_accounts_for_dormancy():
    k8s = clean_identity(provider="kubernetes", kind="k8s_service_account", last_used_at=None,
                         created_at_source=days(-400))
    aws = clean_identity(last_used_at=None, created_at_source=days(-400))
    evaluate_all("test")
    assert "dormancy.dormant" not in fired(k8s)
    assert "dormancy.dormant" in fired(aws)


def test_it_rotates_privileged_accounts_and_api_keys_sooner():
    from tests.factories import CredentialFactory

    standard = clean_identity()
    admin = clean_identity(privilege="admin")
    api_key = clean_identity(kind="api_key")
    for identity in (standard, admin, api_key):
        CredentialFactory(identity=identity, kind="access_key", created_at_source=days(-45))
    evaluate_all("test")
    assert "lifecycle.rotation_overdue" not in fired(standard)  # 90 days
    assert "lifecycle.rotation_overdue" in fired(admin)  # 30 days
    assert "lifecycle.rotation_overdue" not in fired(api_key)  # 60 days
    setter(last_rotated_at=None)(api_key)
    from inventory.models import Credential

    Credential.objects.filter(identity=api_key).update(created_at_source=days(-61))
    evaluate_all("test")
    assert "lifecycle.rotation_overdue" in fired(api_key)


def test_it_scores_and_classifies():
    unknown = clean_identity(purpose="")
    dormant = clean_identity(purpose="", last_used_at=days(-200))
    high = clean_identity(privilege="admin", last_used_at=days(-200))
    evaluate_all("test")
    for identity, expected in ((unknown, "unknown"), (dormant, "dormant"), (high, "high_risk")):
        identity.refresh_from_db()
        assert identity.risk.classification == expected
    assert unknown.risk_score == 8  # one medium finding
    assert dormant.risk_score == 16  # two medium findings
    assert high.risk_score == 48  # admin, management zone reached (high) + dormant


def test_it_reports_an_identity_still_active_after_the_grace_of_a_revoke():
    """A review answered "revoke" (reviews.decisions sets deprovision_requested_at): no
    finding within the grace period (14 days), one after it, resolved once the source
    reports the identity disabled."""
    rule = "lifecycle.deprovision_overdue"
    identity = clean_identity(deprovision_requested_at=days(-13))
    assert rule not in evaluate_and_fired(identity)
    evaluate_all("test", now=days(2))
    assert rule in fired(identity)
    assert finding(identity, rule).owasp == "NHI1"
    update(identity, status="disabled")
    evaluate_all("test", now=days(2))
    assert finding(identity, rule).resolved_why == "identity is disabled"


def test_it_takes_the_offboarding_grace_from_the_policy():
    from inventory.risk import policy as policies
    from nhigov.lib.audit import Actor

    identity = clean_identity(deprovision_requested_at=days(-3))
    assert "lifecycle.deprovision_overdue" not in evaluate_and_fired(identity)
    text = policies.default_document().replace("  grace_days: 14", "  grace_days: 2")
    policies.save_version(text, Actor.system("test"), "Faster offboarding")
    assert "lifecycle.deprovision_overdue" in evaluate_and_fired(identity)
