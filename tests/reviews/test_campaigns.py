"""Opening campaigns: tasks per owner role, triage, snapshots, scope, invitations, close."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Identity
from nhigov.lib.audit import Actor
from nhigov.models import AuditEvent
from reviews.campaigns import ScopeError, close_campaign, open_scheduled, period_of
from reviews.models import Attestation, Campaign, Delivery
from reviews.snapshot import Shown
from tests.factories import IdentityFactory, PersonFactory
from tests.reviews.conftest import make_campaign

pytestmark = pytest.mark.django_db

A = Attestation


def tasks_of(campaign) -> set[tuple[str, str, str | None, str]]:
    return {(t.identity.name, t.role, getattr(t.reviewer, "email", None), t.status)
            for t in campaign.tasks.select_related("identity", "reviewer")}


def test_it_creates_one_task_per_owner_role_and_triage_for_no_active_owner(org):
    campaign = make_campaign()
    assert tasks_of(campaign) == {
        ("svc-payments-api", "technical", "alice@example.test", "pending"),
        ("svc-payments-api", "business", "bob@example.test", "pending"),
        ("svc-ledger-reader", "technical", "alice@example.test", "pending"),
        ("svc-orphan", "triage", None, "triage"),
        ("svc-left-behind", "triage", None, "triage"),
    }
    assert (campaign.identity_count, campaign.task_count, campaign.triage_count) == (4, 3, 2)


def test_it_gives_one_task_to_a_person_owning_both_roles(org):
    IdentityFactory(name="svc-solo", technical_owner=org["carol"], business_owner=org["carol"])
    campaign = make_campaign(scope="q=svc-solo")
    assert tasks_of(campaign) == {("svc-solo", "technical", "carol@example.test", "pending")}


def test_it_snapshots_what_the_reviewer_is_shown(org):
    campaign = make_campaign()
    task = campaign.tasks.get(identity=org["both"], role=A.Role.TECHNICAL)
    Identity.objects.filter(pk=org["both"].pk).update(purpose="Changed later", zone="storage")
    task.refresh_from_db()
    shown = Shown(task.snapshot)
    assert shown.name == "svc-payments-api"
    assert shown.purpose == "Charges cards"
    assert shown.zone == "compute"
    assert shown.privilege_label == "Admin"
    assert shown.technical_owner == "alice@example.test"
    assert shown.business_owner == "bob@example.test"
    assert shown.team == "Payments"
    assert shown.source == "aws-prod"
    assert shown.environment == "Production"
    assert shown.code == str(org["both"].code)
    assert shown.last_used_at is not None and shown.last_used_at.tzinfo is not None


def test_it_scopes_by_a_saved_register_filter(org):
    campaign = make_campaign(scope="/identities/?privilege=admin&sort=name&after=xyz")
    assert {t[0] for t in tasks_of(campaign)} == {"svc-payments-api"}
    assert campaign.scope == "privilege=admin"


def test_it_skips_inactive_identities_unless_the_scope_names_a_status(org):
    Identity.objects.filter(pk=org["tech_only"].pk).update(status="disabled")
    assert "svc-ledger-reader" not in {t[0] for t in tasks_of(make_campaign())}
    scoped = make_campaign(scope="status=disabled", name="disabled")
    assert {t[0] for t in tasks_of(scoped)} == {"svc-ledger-reader"}


@pytest.mark.parametrize("scope", ["colour=blue", "privilege=superuser", "expires_within=-3"])
def test_it_refuses_a_scope_the_register_would_not_accept(org, scope):
    with pytest.raises(ScopeError):
        make_campaign(scope=scope)
    assert not Campaign.objects.exists()


def test_it_queues_one_invitation_per_owner_and_audits_the_opening(org):
    campaign = make_campaign()
    invites = Delivery.objects.filter(campaign=campaign, kind="invite")
    assert sorted(invites.values_list("recipient", flat=True)) == [
        "alice@example.test", "bob@example.test"]
    event = AuditEvent.objects.get(action="campaign.open")
    assert event.after["tasks"] == 3 and event.after["triage"] == 2


def test_it_opens_a_large_campaign_with_a_bounded_number_of_queries(org):
    owners = [PersonFactory(team=org["team"]) for _ in range(50)]
    source, env = org["both"].source, org["both"].environment
    Identity.objects.bulk_create([
        Identity(source=source, environment=env, external_id=f"bulk/{n}", name=f"bulk-{n:05d}",
                 provider="aws", kind="iam_user", technical_owner=owners[n % 50],
                 business_owner=owners[(n + 7) % 50] if n % 3 else None)
        for n in range(10_000)
    ], batch_size=2000)
    with CaptureQueriesContext(connection) as queries:
        campaign = make_campaign(scope="q=bulk-")
    assert campaign.identity_count == 10_000
    assert campaign.task_count == 10_000 + 6_666
    assert Delivery.objects.filter(campaign=campaign).count() == 50
    assert len(queries) <= 15, [q["sql"][:120] for q in queries]


def test_it_closes_a_campaign_expiring_what_is_left(org):
    campaign = make_campaign()
    expired = close_campaign(campaign, Actor.system("test"), "Quarter over")
    assert expired == 5
    assert campaign.status == "closed"
    assert set(campaign.tasks.values_list("status", flat=True)) == {"expired"}
    assert close_campaign(campaign, Actor.system("test")) == 0
    assert AuditEvent.objects.filter(action="campaign.close").count() == 1


def test_it_opens_each_scheduled_period_once(org, settings):
    from datetime import UTC, datetime

    settings.REVIEWS_SCHEDULE_MONTHS = [1, 4, 7, 10]
    when = datetime(2025, 8, 3, 6, 0, tzinfo=UTC)
    assert period_of(when.date()) == "2025-Q3"
    first = open_scheduled(when)
    assert first is not None and first.kind == "scheduled" and first.period == "2025-Q3"
    assert open_scheduled(when) is None
    assert Campaign.objects.filter(period="2025-Q3").count() == 1
    settings.REVIEWS_SCHEDULE_MONTHS = []
    assert open_scheduled(datetime(2025, 11, 3, tzinfo=UTC)) is None
