"""manage.py import_identities: counts on success, the error report and exit 1 on errors."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Identity
from nhigov.models import AuditEvent

DATA = Path(__file__).resolve().parent.parent / "data"
pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_identities", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_a_file_and_prints_counts():
    out, _ = run(str(DATA / "import_valid.json"), "--source", "vault-export")
    assert "Imported 2 rows from import_valid.json into source 'vault-export'" in out
    assert "2 created, 0 updated, 0 unchanged" in out
    assert "People created: jane.doe@example.test" in out
    assert AuditEvent.objects.get(action="import").actor.startswith("manage.py import_identities")
    out, _ = run(str(DATA / "import_valid.json"), "--source", "vault-export")
    assert "0 created, 0 updated, 2 unchanged" in out


def test_it_prints_every_error_and_fails():
    with pytest.raises(CommandError, match="15 error"):
        out, err = StringIO(), StringIO()
        try:
            call_command("import_identities", str(DATA / "import_errors.csv"),
                         "--source", "s", stdout=out, stderr=err)
        finally:
            report = err.getvalue()
    assert "line 4 [kind]: 'robot' is not one of" in report
    assert "line 14 [last_used_at]" in report
    assert not Identity.objects.exists()


def test_it_reports_an_unreadable_path(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run(str(tmp_path / "nope.csv"), "--source", "s")


def test_it_exits_non_zero_from_the_shell(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.csv"
    bad.write_text("name,kind\n")
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    proc = subprocess.run([sys.executable, str(manage), "import_identities", str(bad),
                           "--source", "s", "--settings", "tests.settings"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Required column 'provider' is missing" in proc.stderr
