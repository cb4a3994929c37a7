"""`manage.py evaluate_risk` and the nightly task call the same functions."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from inventory.models import DailySnapshot, RiskRun
from inventory.risk.tasks import nightly_risk
from tests.risk.cases import clean_identity
from tests.risk.helpers import fired

pytestmark = pytest.mark.django_db


def run(*args) -> dict:
    out = StringIO()
    call_command("evaluate_risk", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_evaluates_everything_and_takes_a_snapshot():
    identity = clean_identity(purpose="")
    summary = run("--snapshot")
    assert summary["scope"] == 1 and summary["opened"] == 1
    assert "ownership.no_purpose" in fired(identity)
    assert DailySnapshot.objects.get().metrics["headline"]["unknown"] == 1


def test_it_evaluates_one_source_or_some_identities():
    one, two = clean_identity(purpose=""), clean_identity(purpose="")
    assert run("--identity", str(one.code))["scope"] == 1
    assert fired(two) == set()
    assert run("--source", one.source.name)["scope"] == 2
    assert RiskRun.objects.filter(full=False).count() == 2


@pytest.mark.parametrize("args", [["--source", "nope"], ["--identity", "not-a-uuid"],
                                  ["--identity", "00000000-0000-0000-0000-000000000000"]])
def test_it_refuses_unknown_targets(args):
    with pytest.raises(CommandError):
        run(*args)


def test_the_nightly_task_evaluates_snapshots_and_alerts(users):
    clean_identity(attributes={"trust": {"anyone": True}})
    summary = nightly_risk.apply().get()  # runs here; no worker is needed on the broker
    assert summary["opened"] >= 1 and summary["alerts"] >= 1 and summary["delivered"] >= 1
    assert DailySnapshot.objects.exists()
