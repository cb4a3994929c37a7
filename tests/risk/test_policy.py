"""The policy document: defaults, validation with line numbers, versions, and its effect
on evaluation (classes, disabled rules, severities, zone map and exceptions)."""

import pytest

from inventory.models import Finding, PolicyVersion
from inventory.risk import policy as policies
from inventory.risk.engine import evaluate_all
from inventory.risk.policy import PolicyError
from nhigov.lib.audit import Actor
from nhigov.models import AuditEvent
from tests.risk.cases import clean_identity, days
from tests.risk.helpers import fired

ACTOR = Actor.system("test")


def with_changes(old: str, new: str) -> str:
    text = policies.default_document()
    assert old in text
    return text.replace(old, new)


def test_it_reads_the_design_defaults():
    policy = policies.parse(policies.default_document())
    assert policy.defaults["rotation_days"] == 90
    assert policy.defaults["dormant_days"] == 90
    assert policy.defaults["cert_warning_days"] == 30
    assert (policy.defaults["min_rsa_bits"], policy.defaults["min_ecc_bits"]) == (2048, 256)
    by_name = {c.name: c for c in policy.classes}
    assert by_name["Privileged service account"].values == {"rotation_days": 30}
    assert by_name["API key"].values == {"rotation_days": 60}
    assert {r.zone for r in policy.place} == {"access", "management", "compute", "storage"}


@pytest.mark.parametrize(("old", "new", "words"), [
    ("  rotation_days: 90 ", "  rotation_days: -4 ", "rotation_days must be a whole number"),
    ("  dormant_days: 90 ", "  dormant_days: null ", "dormant_days must be a whole number"),
    ("    match: {privilege: admin}", "    match: {privilege: root}", "'root' is not a valid"),
    ("    match: {kind: api_key}", "    match: {knd: api_key}", "unknown key 'knd'"),
    ("  disabled: []", "  disabled: [no.such.rule]", "'no.such.rule' is not a valid disabled"),
    ("  grace_days: 14", "  grace_days: two weeks", "grace_days must be a whole number"),
    ("    - zone: storage\n      provider: database",
     "    - zone: basement\n      provider: database", "'basement' is not a valid zone"),
])
def test_it_refuses_an_invalid_document_naming_the_line(old, new, words):
    text = with_changes(old, new)
    first = new.splitlines()[0]
    line = next(n for n, text_line in enumerate(text.splitlines(), 1)
                if text_line.startswith(first))
    with pytest.raises(PolicyError) as caught:
        policies.parse(text)
    problem = caught.value.problems[0]
    assert words in problem.message
    assert problem.line == line, str(caught.value)
    assert str(problem).startswith(f"line {line}: ")


def test_it_names_the_line_of_a_yaml_syntax_error():
    text = with_changes("  tags: [break-glass, breakglass, emergency-access]",
                        "  tags: [break-glass")
    with pytest.raises(PolicyError) as caught:
        policies.parse(text)
    problem = caught.value.problems[0]
    assert "not valid YAML" in problem.message
    # The parser notices on the line after the unclosed bracket.
    assert problem.line == text.splitlines().index("  tags: [break-glass") + 2


def test_it_requires_approver_reason_and_expiry_for_an_exception():
    text = with_changes("  exceptions: []", "  exceptions:\n    - name: svc-*\n      zone: storage")
    with pytest.raises(PolicyError) as caught:
        policies.parse(text)
    messages = " ".join(p.message for p in caught.value.problems)
    assert "needs `approver`" in messages and "needs `expires`" in messages


@pytest.mark.django_db
def test_it_keeps_every_version_with_author_and_reason():
    first = policies.save_version(policies.default_document(), ACTOR, "initial")
    second = policies.save_version(with_changes("  dormant_days: 90 ", "  dormant_days: 60 "),
                                   ACTOR, "Tighter dormancy, audit finding A-12")
    assert (first.number, second.number) == (1, 2)
    assert policies.current().defaults["dormant_days"] == 60
    assert policies.current().number == 2
    assert PolicyVersion.objects.count() == 2
    event = AuditEvent.objects.filter(action="policy.update").order_by("-id").first()
    assert event.reason == "Tighter dormancy, audit finding A-12"
    assert event.after == {"version": 2}


@pytest.mark.django_db
def test_it_refuses_to_save_an_invalid_version_or_one_without_reason():
    with pytest.raises(PolicyError):
        policies.save_version("defaults: {rotation_days: x}", ACTOR, "oops")
    with pytest.raises(PolicyError):
        policies.save_version(policies.default_document(), ACTOR, "  ")
    assert not PolicyVersion.objects.exists()


@pytest.mark.django_db
def test_the_first_full_evaluation_stores_the_default_policy():
    run = evaluate_all("test")
    assert run.policy_number == 1
    assert PolicyVersion.objects.get().author_label == "risk-policy"


@pytest.mark.django_db
def test_a_new_threshold_applies_at_the_next_evaluation():
    identity = clean_identity(last_used_at=days(-70))
    evaluate_all("test")
    assert "dormancy.dormant" not in fired(identity)
    policies.save_version(with_changes("  dormant_days: 90 ", "  dormant_days: 60 "), ACTOR,
                          "tighter")
    evaluate_all("test")
    assert "dormancy.dormant" in fired(identity)


@pytest.mark.django_db
def test_a_disabled_rule_resolves_its_findings_and_severity_can_be_overridden():
    identity = clean_identity(purpose="", privilege="unknown")
    evaluate_all("test")
    assert {"ownership.no_purpose", "privilege.unknown"} <= fired(identity)
    text = with_changes("  disabled: []", "  disabled: [privilege.unknown]")
    text = text.replace("  severity: {}", "  severity: {ownership.no_purpose: critical}")
    policies.save_version(text, ACTOR, "noise")
    evaluate_all("test")
    gone = Finding.objects.get(identity=identity, rule="privilege.unknown")
    assert gone.status == "resolved" and gone.resolved_why == "rule switched off by policy v2"
    assert Finding.objects.get(identity=identity, rule="ownership.no_purpose").severity == \
        "critical"
    identity.refresh_from_db()
    assert identity.risk.classification == "high_risk"  # a critical condition holds


@pytest.mark.django_db
def test_zone_map_places_identities_and_exceptions_cover_a_zone():
    reaching = [{"name": "AmazonS3FullAccess", "level": "write"}]
    unzoned = clean_identity(zone="", attributes={"policies": reaching})
    covered = clean_identity(attributes={"policies": reaching})
    evaluate_all("test")
    unzoned.refresh_from_db()
    assert unzoned.risk.home_zone == "compute"  # placed by provider (aws)
    assert unzoned.risk.reach == 8  # storage
    assert "zones.cross_zone" in fired(covered)
    exception = (f"  exceptions:\n    - identity: {covered.code}\n      zone: storage\n"
                 "      approver: alice@example.test\n      reason: Nightly export, CHG-1\n"
                 f"      expires: {days(30).date()}")
    policies.save_version(with_changes("  exceptions: []", exception), ACTOR, "CHG-1")
    evaluate_all("test")
    assert "zones.cross_zone" not in fired(covered)
    assert "zones.cross_zone" in fired(unzoned)
    # Once the exception has expired, reaching the zone is a finding again.
    evaluate_all("test", now=days(32))
    assert "zones.cross_zone" in fired(covered)
