"""`load_demo --live`: the demo code starts real moto, OpenBao and Kubernetes stand-in
servers in a folder of its own, and the register is filled by discovery through them.

The servers are started once for the module and reused by later loads (each test has a
fresh database), which is also how a second `make demo` finds them; loading twice must
change nothing but the discovery role's own last use."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from inventory import demo
from inventory.choices import Provider
from inventory.demo.live_files import load_state, running
from inventory.models import Credential, Identity, Source, SyncRun
from inventory.source_config import config_problems
from nhigov.models import AuditEvent

pytestmark = pytest.mark.django_db
TODAY = datetime.now(UTC).date()
DISCOVERED = ["aws-prod", "aws-staging", "k8s-gpu-cluster", "vault", "certificates"]


def load(folder: Path) -> str:
    out = StringIO()
    call_command("load_demo", "--live", "--no-fallback", "--keep-running",
                 "--demo-dir", str(folder), today=TODAY, stdout=out, stderr=out)
    return out.getvalue()


def latest_runs() -> dict[str, SyncRun]:
    runs = {}
    for run in SyncRun.objects.select_related("source").order_by("started_at", "id"):
        runs[run.source.name] = run
    return runs


def secrets_in(folder: Path) -> list[str]:
    """Every secret the demo's servers were given: none may reach the database."""
    init = json.loads((folder / "vault" / "init.json").read_text())
    values = [init["root_token"], init["key"],
              (folder / "vault" / "role-id").read_text().strip(),
              (folder / "vault" / "secret-id").read_text().strip(),
              (folder / "k8s" / "token").read_text().strip(), "nhigov-demo-secret"]
    key_files = list((folder / "pki").rglob("*.key"))
    values += [f.read_text().splitlines()[1] for f in key_files]  # a line of each key
    return values


def database_text() -> str:
    dumps = [list(Identity.objects.values()), list(Credential.objects.values()),
             list(Source.objects.values("config")),
             list(AuditEvent.objects.values("before", "after"))]
    return json.dumps(dumps, default=str)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """One demo folder for the module: the first load starts and seeds the servers, later
    loads (each into a fresh test database) reuse them; stopped at the end."""
    folder = tmp_path_factory.mktemp("live-demo") / "demo"
    yield folder
    started = load_state(folder)["servers"]
    call_command("demo_servers", "stop", "--demo-dir", str(folder), stdout=StringIO())
    assert load_state(folder)["servers"] == {}
    for entry in started.values():
        assert not running(entry.get("pid"), str(folder))


def test_it_fills_the_register_by_discovery(demo_dir):
    output = load(demo_dir)

    runs = latest_runs()
    assert set(runs) == {name for name, _, _ in demo.SOURCES}, output
    for name in DISCOVERED:
        assert (runs[name].status, runs[name].triggered_by) == ("succeeded", "demo"), \
            runs[name].error
        assert runs[name].seen > 0
    assert runs["saas-api-keys"].status == "succeeded"
    assert runs["saas-api-keys"].triggered_by.startswith("import by load_demo")

    register = Identity.objects.all()
    assert register.count() >= 850
    assert set(register.values_list("provider", flat=True)) >= set(Provider.values)
    counts = {name: register.filter(source__name=name).count() for name in runs}
    assert counts["aws-prod"] > 250 and counts["k8s-gpu-cluster"] > 190
    assert counts["vault"] > 150 and counts["certificates"] > 40

    # Owners came from tags, annotations, metadata and the import file.
    owner = register.filter(technical_owner__email=demo.OWNER_EMAIL).count()
    assert owner == demo.OWNER_SHARE
    orphaned = register.filter(technical_owner=None, business_owner=None).count()
    assert 0.28 < orphaned / register.count() < 0.45
    assert register.filter(technical_owner__is_active=False).exists()
    for name in DISCOVERED:
        assert register.filter(source__name=name).exclude(technical_owner=None).exists(), name

    # What real discovery found: the generator's key ids, OIDC trust, RBAC, weak keys.
    iam = next(r for r in demo.build_records(datetime(TODAY.year, TODAY.month, TODAY.day,
                                                      tzinfo=UTC))["aws-prod"]
               if r.kind == "iam_user" and r.credentials and r.status == "active")
    found = register.get(external_id=iam.external_id)
    assert {c.external_id for c in iam.credentials if c.kind == "access_key"} <= set(
        found.credentials.values_list("external_id", flat=True))
    assert register.filter(source__name="aws-prod", kind="certificate").count() == 14
    assert register.filter(kind="k8s_service_account", privilege="admin").exists()
    assert Credential.objects.filter(kind="token_secret").exists()
    assert Credential.objects.filter(kind="secret_id").exists()
    assert Credential.objects.filter(kind="certificate", key_size=1024).exists()
    assert register.filter(kind="cloud_role", name__startswith="gha").exists()


def test_it_keeps_secrets_out_of_the_database_and_its_files_private(demo_dir):
    load(demo_dir)

    text = database_text()
    for value in secrets_in(demo_dir):
        assert value not in text
    for source in Source.objects.exclude(kind="file"):
        assert config_problems(source.kind, source.config) == [], source.name
    for path in ("state.json", "vault/init.json", "vault/secret-id", "k8s/token",
                 "aws/credentials", "aws/seed.json"):
        assert stat.S_IMODE((demo_dir / path).stat().st_mode) == 0o600, path
    assert stat.S_IMODE(demo_dir.stat().st_mode) == 0o700


def test_it_converges_when_run_again_on_the_running_servers(demo_dir):
    load(demo_dir)
    before = Identity.objects.count()
    state = load_state(demo_dir)["servers"]

    output = load(demo_dir)

    assert "reused" in output
    assert load_state(demo_dir)["servers"] == state
    assert Identity.objects.count() == before
    runs = latest_runs()
    for name, run in runs.items():
        assert (run.status, run.created, run.missing) == ("succeeded", 0, 0), name
        # Only the discovery role changes: assuming it is a use AWS (and moto) records.
        assert run.updated <= (1 if name.startswith("aws") else 0), name
