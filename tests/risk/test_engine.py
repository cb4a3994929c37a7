"""The evaluation engine: a bounded number of queries whatever the register's size, scoped
runs, and the hooks that run it after a sync and after an edit."""

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Credential, Finding, Identity, IdentityRisk, RiskRun, SyncRun
from inventory.risk.engine import evaluate_all, evaluate_identities, evaluate_source
from inventory.risk.hooks import after_sync, sync_finished
from nhigov.models import AuditEvent
from tests.factories import EnvironmentFactory, PersonFactory, SourceFactory
from tests.risk.cases import clean_identity, days, update
from tests.risk.helpers import fired

pytestmark = pytest.mark.django_db


def make_register(total: int, seed: int = 5) -> None:
    """`total` varied identities (a quarter with an access key), in bulk."""
    rng = random.Random(seed)
    source, env = SourceFactory(), EnvironmentFactory()
    owners = [PersonFactory() for _ in range(5)]
    now = timezone.now()
    rows = [Identity(
        source=source, external_id=f"bulk-{seed}-{n}", provider="aws", name=f"bulk-{n}",
        kind=rng.choice(["iam_user", "cloud_role", "api_key"]), environment=env,
        privilege=rng.choice(["read", "write", "admin", "unknown"]),
        auth_method=rng.choice(["static_secret", "short_lived_token"]),
        technical_owner=rng.choice(owners + [None]), purpose=rng.choice(["", "batch"]),
        interactive_login=rng.random() < 0.1, zone=rng.choice(["", "compute", "storage"]),
        last_used_at=now - timezone.timedelta(days=rng.randint(0, 200)),
    ) for n in range(total)]
    Identity.objects.bulk_create(rows, batch_size=2000)
    ids = list(Identity.objects.filter(external_id__startswith=f"bulk-{seed}-")
               .values_list("id", flat=True))
    Credential.objects.bulk_create([
        Credential(identity_id=i, kind="access_key", external_id=f"AKIA{seed}{i:015d}",
                   created_at_source=now - timezone.timedelta(days=rng.randint(0, 200)))
        for i in ids[: total // 4]], batch_size=2000)


def queries_of(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_it_uses_the_same_number_of_queries_for_1000_and_10000_identities():
    evaluate_all("stores policy v1")  # a one-off: the first run saves the default policy
    make_register(1000, seed=1)
    first_small = queries_of(lambda: evaluate_all("test"))
    again_small = queries_of(lambda: evaluate_all("test"))
    make_register(9000, seed=2)
    first_large = queries_of(lambda: evaluate_all("test"))
    again_large = queries_of(lambda: evaluate_all("test"))
    assert Identity.objects.count() == 10_000
    assert Finding.objects.count() > 10_000
    assert first_small == first_large
    assert again_small == again_large
    assert first_large <= 40


def test_an_unchanged_register_writes_nothing():
    make_register(300)
    evaluate_all("test")
    run = evaluate_all("test")
    assert (run.changed, run.opened, run.resolved, run.reopened, run.scored) == (0, 0, 0, 0, 0)
    assert run.scope_size == 300


def test_it_evaluates_only_the_identities_asked_for():
    one, other = clean_identity(purpose=""), clean_identity(purpose="")
    run = evaluate_identities([one.pk], trigger="test")
    assert run.scope_size == 1 and not run.full
    assert "ownership.no_purpose" in fired(one)
    assert fired(other) == set()
    assert not IdentityRisk.objects.filter(identity=other).exists()


def test_it_takes_along_identities_sharing_a_fingerprint():
    from tests.factories import CredentialFactory

    prod = clean_identity(kind="certificate", provider="certificate", zone="access",
                          privilege="read", expires_at=days(100), auth_method="certificate")
    staging = clean_identity(environment=EnvironmentFactory(slug="staging"),
                             kind="certificate", provider="certificate", zone="access",
                             privilege="read", expires_at=days(100), auth_method="certificate")
    for identity in (prod, staging):
        CredentialFactory(identity=identity, kind="certificate", fingerprint="cd" * 32,
                          created_at_source=days(-5), expires_at=days(100))
    run = evaluate_identities([prod.pk], trigger="test")
    assert run.scope_size == 2
    assert "environment.multi_env" in fired(staging)


def test_it_evaluates_a_source_after_its_sync():
    identity = clean_identity(purpose="")
    run = SyncRun.objects.create(source=identity.source, status="succeeded")
    after_sync(run)
    assert "ownership.no_purpose" in fired(identity)
    assert RiskRun.objects.get().trigger == f"sync {run.code}"
    update(identity, purpose="Batch")
    sync_finished.send(sender=SyncRun, run=run)
    assert fired(identity) == set()
    assert evaluate_source(identity.source_id).changed == 0


@pytest.mark.django_db(transaction=True)
def test_every_sync_run_evaluates_its_source_when_it_ends(eager_celery):
    """The real sync path (sync_records: discovery, import, demo) triggers the evaluation:
    a new identity without purpose gets its finding, and missing ones are resolved."""
    from inventory.connectors.base import IdentityRecord
    from inventory.sync import sync_records

    source = SourceFactory(name="aws-hooked")

    def record(n: int) -> IdentityRecord:
        return IdentityRecord(external_id=f"svc-{n}", provider="aws", kind="iam_user",
                              name=f"svc-{n}", privilege="admin", auth_method="static_secret")

    run = sync_records(source, [record(n) for n in range(1, 11)], triggered_by="test")
    assert RiskRun.objects.get().trigger == f"sync {run.code}"
    first = Identity.objects.get(name="svc-1")
    assert "privilege.admin" in fired(first)
    # svc-1 is now missing (1 in 10: under the share that would hold the run)
    sync_records(source, [record(n) for n in range(2, 11)], triggered_by="test")
    assert fired(first) == set()
    assert finding_status(first, "privilege.admin") == "resolved"
    assert RiskRun.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_can_leave_evaluation_to_the_nightly_run(eager_celery, settings):
    from inventory.connectors.base import IdentityRecord
    from inventory.sync import sync_records

    settings.RISK_EVALUATE_AFTER_SYNC = False
    sync_records(SourceFactory(), [IdentityRecord(external_id="a", provider="aws",
                                                  kind="iam_user", name="a")])
    assert not RiskRun.objects.exists()


def finding_status(identity: Identity, rule: str) -> str:
    return Finding.objects.get(identity=identity, rule=rule).status


def test_a_failed_evaluation_never_fails_the_sync(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("inventory.risk.engine._evaluate", broken)
    identity = clean_identity()
    after_sync(SyncRun.objects.create(source=identity.source, status="succeeded"))
    assert "risk evaluation after sync run" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_it_reevaluates_an_identity_when_an_analyst_edits_it():
    from inventory.editing import update_identity
    from nhigov.lib.audit import Actor

    identity = clean_identity(purpose="")
    evaluate_all("test")
    assert "ownership.no_purpose" in fired(identity)
    update_identity(identity, {"purpose": "Exports invoices"}, Actor.system("test"), "asked")
    assert fired(identity) == set()
    assert RiskRun.objects.order_by("-id").first().trigger == "identity edited"


def test_a_run_that_changes_findings_is_audited():
    clean_identity(purpose="")
    run = evaluate_all("nightly")
    event = AuditEvent.objects.get(action="risk.evaluate")
    assert event.object_id == str(run.code)
    assert event.after["opened"] == 1
    assert event.reason == "nightly"
