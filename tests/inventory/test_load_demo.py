"""The `load_demo` command: a realistic AI-factory register, one login per role, idempotent.

These run the offline mode (the generator's records straight through the sync), plus the
live mode's fallback and the pure parts of the live seeding; tests/live/test_demo_live.py
runs the live demo against its real servers.
"""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from inventory import demo
from inventory.choices import Provider
from inventory.demo import live
from inventory.demo.live_files import ServerError
from inventory.models import Credential, Identity, Source, SyncRun
from nhigov.lib.roles import role_of
from nhigov.models import AuditEvent
from ownership.models import Person, Team

pytestmark = pytest.mark.django_db

LOGINS = {
    "admin": ("admin@demo.nhigov.test", "demo-admin-2025"),
    "analyst": ("analyst@demo.nhigov.test", "demo-analyst-2025"),
    "auditor": ("auditor@demo.nhigov.test", "demo-auditor-2025"),
    "owner": ("owner@demo.nhigov.test", "demo-owner-2025"),
}
TODAY = datetime.now(UTC).date()


def load(*args: str) -> str:
    # A fixed day for both runs of a test, so midnight cannot fall between them.
    out = StringIO()
    call_command("load_demo", *(args or ("--offline",)), today=TODAY, stdout=out,
                 stderr=out)
    return out.getvalue()


def snapshot() -> dict:
    """Everything a second run must leave alone."""
    return {
        "identities": sorted(Identity.objects.values_list("code", "data_hash", "updated_at")),
        "credentials": sorted(Credential.objects.values_list("code", "updated_at")),
        "people": sorted(Person.objects.values_list("email", "is_active", "team_id", "user_id")),
        "teams": sorted(Team.objects.values_list("slug", "lead_id")),
        "sources": sorted(Source.objects.values_list("name", "updated_at")),
        "users": sorted(get_user_model().objects.values_list("username", "password")),
    }


def test_it_builds_the_same_records_from_the_same_day():
    now = datetime(2026, 1, 15, tzinfo=UTC)
    assert repr(demo.build_records(now)) == repr(demo.build_records(now))


def test_it_loads_a_realistic_register():
    output = load()
    now = timezone.now()
    register = Identity.objects.all()
    assert register.count() >= 850
    assert set(register.values_list("provider", flat=True)) >= set(Provider.values)
    assert set(register.values_list("source__name", flat=True)) == {n for n, _, _ in demo.SOURCES}
    orphaned = register.filter(technical_owner=None, business_owner=None).count()
    assert 0.28 < orphaned / register.count() < 0.45  # seed 003: 312 of 847 found late
    assert register.filter(last_used_at__lt=now - timedelta(days=90)).count() > 50
    assert register.filter(last_used_at=None).exists()
    assert register.filter(expires_at__lt=now).exists()
    assert register.filter(expires_at__gte=now, expires_at__lt=now + timedelta(days=30)).exists()
    assert register.filter(privilege="admin").count() > 40
    assert register.filter(interactive_login=True).exists()
    assert register.filter(technical_owner__is_active=False).exists()  # owners who left
    assert register.exclude(technical_owner=None).filter(purpose="").exists()
    assert Credential.objects.filter(kind="certificate", key_size=1024).exists()
    assert Credential.objects.filter(
        kind="access_key", created_at_source__lt=now - timedelta(days=400)).exists()
    assert Person.objects.count() == 40 and Person.objects.filter(is_active=False).count() >= 3
    assert Team.objects.filter(lead=None).count() == 0
    assert "owner@demo.nhigov.test" in output and "demo-owner-2025" in output


def test_it_creates_one_login_per_role():
    load()
    users = get_user_model().objects
    for role, (email, password) in LOGINS.items():
        user = users.get(username=email)
        assert user.email == email and user.check_password(password)
        assert role_of(user) == role
    owner = users.get(username=LOGINS["owner"][0])
    owned = Identity.objects.filter(technical_owner__user=owner).count()
    assert owned == demo.OWNER_SHARE


def test_it_changes_nothing_when_run_twice():
    load()
    analyst = get_user_model().objects.get(username=LOGINS["analyst"][0])
    analyst.set_password("changed-by-someone")
    analyst.save()
    before, events, runs = snapshot(), AuditEvent.objects.count(), SyncRun.objects.count()

    load()

    analyst.refresh_from_db()
    assert analyst.check_password(LOGINS["analyst"][1])  # demo password back
    after = snapshot()
    for state in (before, after):  # only the analyst's password hash may differ
        state["users"] = [u for u in state["users"] if u[0] != analyst.username]
    assert after == before
    assert SyncRun.objects.count() == runs + len(demo.SOURCES)
    for run in SyncRun.objects.order_by("-id")[: len(demo.SOURCES)]:
        assert (run.status, run.created, run.updated, run.missing) == ("succeeded", 0, 0, 0)
    new_events = list(AuditEvent.objects.order_by("id")[events:])
    assert all(e.actor_type == AuditEvent.ActorType.SYSTEM for e in new_events)
    assert all("sync" in e.action for e in new_events), [e.action for e in new_events]


def test_it_keys_offline_records_as_the_connectors_do():
    records = demo.build_records(datetime(2026, 1, 15, tzinfo=UTC))
    k8s = records["k8s-gpu-cluster"][0]
    assert k8s.external_id == f"gpu-cluster/{k8s.path}/{k8s.name}"
    prefixes = {r.external_id.split(":")[0] for r in records["vault"]}
    assert prefixes == {"approle", "token", "kubernetes", "jwt", "kv"}
    assert all(r.external_id.startswith("arn:aws:iam::") for r in records["aws-prod"])


def test_it_falls_back_to_offline_when_the_servers_cannot_start(monkeypatch, tmp_path):
    def fail(*args, **kwargs):
        raise ServerError("OpenBao not found")

    monkeypatch.setattr(live, "start_servers", fail)
    output = load("--live", "--demo-dir", str(tmp_path))

    assert "WARNING: the live demo could not run" in output
    assert "OpenBao not found" in output
    assert Identity.objects.count() >= 850
    assert set(SyncRun.objects.values_list("triggered_by", flat=True)) == {"load_demo"}


def test_it_fails_instead_of_falling_back_when_asked(monkeypatch, tmp_path):
    def fail(*args, **kwargs):
        raise ServerError("no free loopback port")

    monkeypatch.setattr(live, "start_servers", fail)
    with pytest.raises(CommandError, match="no free loopback port"):
        load("--live", "--no-fallback", "--demo-dir", str(tmp_path))
    assert not Identity.objects.exists()


def test_it_falls_back_to_offline_when_discovery_breaks(monkeypatch, tmp_path):
    prepared = live.Prepared(folder=tmp_path, configs={n: c for n, _, c in demo.SOURCES},
                             ownership={}, saas_file=tmp_path / "none.json")
    monkeypatch.setattr(live, "start_servers", lambda *args, **kwargs: prepared)

    def broken(*args, **kwargs):
        raise ServerError("the SaaS key export did not import")

    monkeypatch.setattr(live, "discover", broken)
    output = load("--live", "--demo-dir", str(tmp_path))

    assert "WARNING: the live demo could not run" in output
    assert all(r.status == "succeeded" for r in SyncRun.objects.all())
    assert Identity.objects.count() >= 850


def test_it_gives_the_dashboard_a_quarter_of_trend_history():
    from inventory.models.risk import DailySnapshot

    load()
    days = list(DailySnapshot.objects.order_by("day").values_list("day", flat=True))
    assert len(days) == 90 and days[-1] == TODAY
    assert days == [TODAY - timedelta(days=n) for n in range(89, -1, -1)]
    oldest, today = DailySnapshot.objects.get(day=days[0]), DailySnapshot.objects.get(day=TODAY)
    assert oldest.metrics["demo_backfill"] is True and "demo_backfill" not in today.metrics
    # The register grew while its problems were worked down.
    assert oldest.metrics["headline"]["total"] < today.metrics["headline"]["total"]
    assert today.metrics["headline"]["not_rotated"] > 0
    assert oldest.metrics["headline"]["not_rotated"] > today.metrics["headline"]["not_rotated"]
    load()  # a second run adds nothing
    assert DailySnapshot.objects.count() == 90
