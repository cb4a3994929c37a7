"""inventory.importer: every error with its line, nothing written on error, idempotent."""

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.importer import example_csv, import_file, parse_file
from inventory.models import Credential, Identity, Source, SyncRun
from nhigov.lib.audit import Actor, verify_chain
from nhigov.models import AuditEvent
from ownership.models import Person
from tests.factories import IdentityFactory, PersonFactory, SourceFactory, TeamFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data"
ACTOR = Actor.system("test")
HEADER = b"name,kind,provider\n"


def run_import(data: bytes, name: str = "file.csv", source: str = "manual", **kw):
    return import_file(data, file_name=name, source_name=source, actor=ACTOR, **kw)


def errors_of(result) -> set[tuple]:
    found = [(e.line, e.field) for e in result.errors]
    assert len(found) == len(set(found)), "each problem is reported once"
    return set(found)


def nothing_written() -> bool:
    return not (Identity.objects.exists() or Source.objects.exists()
                or SyncRun.objects.exists() or AuditEvent.objects.exists())


@pytest.fixture
def payments():
    return TeamFactory(slug="payments", name="Payments")


def test_it_imports_a_valid_csv(payments):
    result = run_import((DATA / "import_valid.csv").read_bytes(), "import_valid.csv")
    assert result.ok, result.errors
    assert (result.rows, result.run.created, result.format) == (3, 3, "csv")
    assert result.source.kind == "file" and result.run.status == "succeeded"
    billing = Identity.objects.get(name="svc-billing")
    assert billing.purpose == "Nightly billing\nexport to the warehouse"
    assert (billing.zone, billing.team) == ("storage", payments)
    assert billing.tags == ["billing", "export"]
    assert billing.technical_owner.email == "jane.doe@example.test"
    assert billing.owner_hints["change_ticket"] == "CHG-1042"
    bot = Identity.objects.get(name="deploy-bot")
    assert bot.external_id == "github/api_key/ci/deploy-bot"
    assert bot.expires_at.isoformat() == "2025-12-31T00:00:00+00:00"
    agent = Identity.objects.get(name="Backup Agent")  # labels accepted, any case
    assert (agent.kind, agent.provider, agent.privilege, agent.auth_method,
            agent.interactive_login) == ("service_account", "other", "admin", "password", True)


def test_it_creates_unknown_owners_as_people_once():
    PersonFactory(email="biz@example.test")
    TeamFactory(slug="payments")
    result = run_import((DATA / "import_valid.csv").read_bytes())
    assert result.people_created == ["jane.doe@example.test"]
    person = Person.objects.get(email="jane.doe@example.test")
    assert person.name == "Jane Doe"
    assert AuditEvent.objects.filter(action="person.create", object_id=str(person.code)).exists()


def test_it_imports_a_valid_json_with_credentials():
    result = run_import((DATA / "import_valid.json").read_bytes(), "import_valid.json")
    assert result.ok, result.errors
    assert result.format == "json" and result.run.created == 2
    approle = Identity.objects.get(external_id="auth/approle/role/payments")
    assert sorted(approle.credentials.values_list("external_id", flat=True)) == [
        "accessor-1", "accessor-2"]
    cert = Credential.objects.get(external_id="serial-01")
    assert (cert.key_algorithm, cert.key_size, cert.fingerprint) == ("RSA", 2048, "ab12")


def test_it_reports_every_csv_error_with_its_line():
    result = run_import((DATA / "import_errors.csv").read_bytes())
    assert not result.ok
    assert errors_of(result) == {
        (3, "name"), (4, "kind"), (5, "provider"), (6, "last_used_at"),
        (7, "technical_owner"), (8, "privilege"), (8, "zone"), (8, "auth_method"),
        (8, "interactive_login"), (8, "status"), (9, "external_id"), (10, "team"),
        (11, ""), (12, "environment"), (14, "last_used_at"),
    }
    messages = {(e.line, e.field): e.message for e in result.errors}
    assert "'robot' is not one of" in messages[(4, "kind")]
    assert "line 2" in messages[(9, "external_id")]
    assert "15 values" in messages[(11, "")]
    assert "Unknown team 'no-such-team'" in messages[(10, "team")]
    assert nothing_written()


def test_it_reports_json_errors_with_item_and_line():
    result = run_import((DATA / "import_errors.json").read_bytes(), "import_errors.json")
    found = sorted((e.item, e.line, e.field) for e in result.errors)
    assert found == sorted({
        (2, 3, "kind"), (2, 3, "colour"), (3, 9, ""),
        (4, 10, "credentials[1].external_id"), (4, 10, "credentials[2].kind"),
        (4, 10, "credentials[2].key_size"), (4, 10, "interactive_login"),
    })
    assert nothing_written()


def test_it_rejects_unknown_and_missing_columns():
    result = run_import(b"name,kind,colour\nx,iam_user,blue\n")
    assert errors_of(result) == {(1, "colour"), (1, "provider")}
    assert "Unknown column 'colour'" in result.errors[0].message
    semicolons = run_import(b"name;kind;provider\nx;iam_user;aws\n")
    assert "separated by ';'" in semicolons.errors[0].message
    assert nothing_written()


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty."),
    (b"  \n\n", "The file is empty."),
    (HEADER, "The file contains no identities."),
    (b"[]", "The file contains no identities."),
    (b'{"things": []}', 'Expected an array of objects, or {"identities": [...]}.'),
])
def test_it_rejects_files_without_identities(data, message):
    result = run_import(data, "upload")
    assert [e.message for e in result.errors] == [message]
    assert nothing_written()


def test_it_rejects_a_file_that_is_not_utf8():
    result = run_import(HEADER + "svc-é,iam_user,aws\n".encode("latin-1"))
    assert [(e.line, e.field) for e in result.errors] == [(2, "")]
    assert "not UTF-8" in result.errors[0].message
    assert nothing_written()


def test_it_counts_lines_the_way_editors_do():
    data = (b"name,kind,provider,purpose\r\n\r\nok,iam_user,aws,\"two\r\nlines\"\r\n"
            b"bad,robot,aws,\r\n")
    assert [(e.line, e.field) for e in run_import(data).errors] == [(5, "kind")]


def test_it_does_not_report_duplicates_of_rows_already_wrong():
    result = run_import(HEADER + b"svc,robot,aws\nsvc,robot,aws\n")
    assert [(e.line, e.field) for e in result.errors] == [(2, "kind"), (3, "kind")]


def test_it_accepts_a_byte_order_mark():
    assert run_import(b"\xef\xbb\xbf" + HEADER + b"svc,iam_user,aws\n").ok


def test_it_rejects_a_file_that_is_too_large(settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    result = run_import(HEADER + b"svc,iam_user,aws\n" * 70_000)
    assert [e.message for e in result.errors] == ["The file is larger than 1 MB."]
    assert nothing_written()


def test_it_reports_invalid_json_with_its_line():
    result = run_import(b'[\n  {"name": "a",\n   "kind": }\n]', "x.json")
    assert [(e.line, e.field) for e in result.errors] == [(3, "")]
    assert result.errors[0].message.startswith("Invalid JSON")


def test_it_survives_a_repeated_identities_key():
    data = b'{"identities": [], "identities": [{"name": "a", "kind": "x", "provider": "aws"}]}'
    assert [(e.item, e.line, e.field) for e in run_import(data, "x.json").errors] == [
        (1, None, "kind")]


def test_it_detects_the_format_from_the_content():
    data = b'[{"name": "a", "kind": "iam_user", "provider": "aws"}]'
    assert parse_file(data, "upload").format == "json"
    assert parse_file(HEADER + b"a,iam_user,aws\n", "upload").format == "csv"


def test_it_refuses_to_import_into_a_discovery_source():
    SourceFactory(name="aws-prod", kind="aws")
    result = run_import(HEADER + b"svc,iam_user,aws\n", source="AWS-prod")
    assert [e.field for e in result.errors] == ["source"]
    assert not Identity.objects.exists()


def test_it_changes_nothing_when_the_same_file_is_imported_again(payments):
    data = (DATA / "import_valid.csv").read_bytes()
    run_import(data)
    before = dict(Identity.objects.values_list("id", "updated_at"))
    with CaptureQueriesContext(connection) as ctx:
        again = run_import(data)
    assert (again.run.created, again.run.updated, again.run.unchanged) == (0, 0, 3)
    assert not [q for q in ctx.captured_queries
                if q["sql"].startswith(("UPDATE", "INSERT")) and "inventory_identity" in q["sql"]]
    assert dict(Identity.objects.values_list("id", "updated_at")) == before


def test_it_never_overwrites_portal_edits(payments):
    data = (DATA / "import_valid.csv").read_bytes()
    run_import(data)
    someone = PersonFactory(email="someone@example.test")
    Identity.objects.filter(name="svc-billing").update(technical_owner=someone, zone="compute",
                                                       purpose="edited in the portal")
    changed = data.replace(b"billing;export", b"billing;export;nightly")
    assert run_import(changed).run.updated == 1
    billing = Identity.objects.get(name="svc-billing")
    assert (billing.technical_owner, billing.zone, billing.purpose) == (
        someone, "compute", "edited in the portal")
    assert billing.tags == ["billing", "export", "nightly"]


def test_it_marks_nothing_missing(payments):
    run_import((DATA / "import_valid.csv").read_bytes())
    result = run_import(HEADER + b"other,iam_user,aws\n")
    assert result.run.created == 1
    assert not Identity.objects.filter(status="missing").exists()


def test_it_audits_the_import():
    data = HEADER + b"svc,iam_user,aws\n"
    result = run_import(data, "svc.csv", source="team-a")
    event = AuditEvent.objects.get(action="import")
    assert event.actor == "test" and event.object_id == str(result.source.code)
    assert event.after["file_name"] == "svc.csv" and event.after["rows"] == 1
    assert event.after["sha256"] == result.sha256 and len(result.sha256) == 64
    assert event.after["created"] == 1
    assert AuditEvent.objects.filter(action="sync_run.finished").count() == 1
    assert AuditEvent.objects.filter(action="source.create").count() == 1
    assert verify_chain().ok


def test_it_rolls_back_a_failed_write(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("inventory.sync_upsert.sync_credentials", explode)
    IdentityFactory(name="untouched")
    result = run_import(HEADER + b"svc,iam_user,aws\n", source="manual")
    assert not result.ok and "rolled back" in result.errors[0].message
    assert list(Identity.objects.values_list("name", flat=True)) == ["untouched"]
    run = SyncRun.objects.get(source__name="manual")
    assert run.status == "failed" and "disk full" in run.error
    assert not Person.objects.filter(email__startswith="jane").exists()


def test_it_offers_an_example_that_imports_cleanly():
    parsed = parse_file(example_csv().encode(), "example.csv")
    assert parsed.errors == [] and parsed.rows == 2
