"""Evidence pack: a seeded period holds exactly the expected records, the manifest's
hashes verify, cells are formula-safe, no secret leaves, the PDF renders, the query
count does not grow with rows, and the export is audited."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import AlertDelivery, Finding, SyncRun
from nhigov.evidence.builder import ACTION, EvidencePack
from nhigov.evidence.files import Period
from nhigov.evidence.frameworks import FILES, FRAMEWORKS
from nhigov.lib.audit import Actor, Change, record, verify_chain
from nhigov.models import AuditEvent
from reviews.models import Attestation, Campaign
from tests.factories import CredentialFactory, IdentityFactory, PersonFactory, SourceFactory

NOW = timezone.now()
PERIOD = Period((NOW - timedelta(days=60)).date(), NOW.date())
INSIDE, BEFORE, AFTER = NOW - timedelta(days=30), NOW - timedelta(days=120), NOW + timedelta(
    days=5)
SECRET_URL = "https://hooks.example.test/services/T000/B000/XOXB-SECRET-TOKEN-123"


def _campaign(name: str, opened, closed=None) -> Campaign:
    return Campaign.objects.create(name=name, opened_at=opened, closed_at=closed,
                                   due_date=(opened + timedelta(days=14)).date(),
                                   status="closed" if closed else "open")


def _task(campaign, identity, reviewer, decision="", status="decided", at=None) -> Attestation:
    return Attestation.objects.create(
        campaign=campaign, identity=identity, role="technical", reviewer=reviewer,
        status=status, decision=decision, snapshot={"name": identity.name},
        decided_at=at if decision else None, decided_by=reviewer.email if decision else "")


def _finding(identity, rule, **fields) -> Finding:
    base = {"severity": "high", "first_detected_at": BEFORE, "last_detected_at": BEFORE,
            "opened_at": BEFORE}
    return Finding.objects.create(identity=identity, rule=rule, **{**base, **fields})


@pytest.fixture
def seeded(users) -> dict:
    reviewer = PersonFactory(email="rita@example.test")
    evil = IdentityFactory(name="=HYPERLINK(\"http://x.test\",\"go\")",
                           purpose="+cmd|' /C calc'!A0", technical_owner=reviewer)
    plain = IdentityFactory(name="svc-billing", purpose="Bills customers")
    CredentialFactory(identity=plain, external_id="AKIAINPERIOD0001", created_at_source=INSIDE)
    CredentialFactory(identity=plain, external_id="AKIAOLD000000002", created_at_source=BEFORE)

    inside = _campaign("Q inside", INSIDE, INSIDE + timedelta(days=10))
    before = _campaign("Q before", BEFORE, BEFORE + timedelta(days=10))
    after = _campaign("Q after", AFTER)
    expected = {
        _task(inside, evil, reviewer, "confirm", at=INSIDE).code: "confirm",
        _task(inside, plain, reviewer, "revoke", at=INSIDE).code: "revoke",
        _task(inside, plain, reviewer, status="expired").code: "",
    }
    _task(before, plain, reviewer, "confirm", at=BEFORE)
    _task(after, plain, reviewer, "revoke", at=AFTER)

    _finding(evil, "ownership.none", status="accepted", accepted_by=users["analyst"],
             accepted_at=INSIDE, accepted_until=(NOW + timedelta(days=90)).date(),
             accepted_reason="Vendor migration ends in Q1")
    _finding(plain, "lifecycle.dormant", status="resolved", resolved_at=BEFORE)

    webhook = AlertDelivery.objects.create(
        channel="webhook", target=SECRET_URL, status="sent", attempts=2,
        payload={"type": "new_critical", "rule": "x"},
        last_error="HTTPSConnectionPool(host='hooks.example.test', port=443): Max retries "
                   "exceeded with url: /services/T000/B000/XOXB-SECRET-TOKEN-123")
    AlertDelivery.objects.filter(pk=webhook.pk).update(created_at=INSIDE, sent_at=INSIDE)
    run = SyncRun.objects.create(source=SourceFactory(), status="succeeded", seen=2)
    SyncRun.objects.filter(pk=run.pk).update(started_at=INSIDE, finished_at=INSIDE)
    record(Actor.system("seed"), Change("identity.update", "identity", str(plain.code),
                                        plain.name, after={"purpose": "Bills customers"}))
    return {"expected": expected, "evil": evil, "plain": plain, "inside": inside}


def build(framework: str = "soc2", actor: Actor | None = None) -> tuple[EvidencePack, bytes]:
    pack = EvidencePack.create(framework, PERIOD, actor or Actor.system("test"))
    return pack, b"".join(pack.stream())


def read_csv(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_it_holds_exactly_the_decisions_of_campaigns_active_in_the_period(seeded):
    _, data = build()
    archive = zipfile.ZipFile(io.BytesIO(data))

    decisions = read_csv(archive, "review_decisions.csv")
    assert {row["task_code"]: row["decision"] for row in decisions} == {
        str(code): decision for code, decision in seeded["expected"].items()}
    assert {row["campaign_name"] for row in decisions} == {"Q inside"}
    campaigns = read_csv(archive, "review_campaigns.csv")
    assert [(c["name"], c["decided_confirm"], c["decided_revoke"], c["expired"])
            for c in campaigns] == [("Q inside", "1", "1", "1")]


def test_it_writes_every_file_and_a_manifest_whose_hashes_verify(seeded):
    pack, data = build("pci_dss")
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None

    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(FILES) == set(archive.namelist()) - {"manifest.json",
                                                                    "manifest.sig.json"}
    for name, info in listed.items():
        content = archive.read(name)
        assert hashlib.sha256(content).hexdigest() == info["sha256"], name
        assert len(content) == info["size"]
    assert manifest["framework"]["key"] == "pci_dss"
    assert manifest["period"] == {"start": PERIOD.start.isoformat(), "end": PERIOD.end.isoformat()}
    assert listed["inventory.csv"]["rows"] == 2


def test_it_reports_rotations_exceptions_coverage_and_alerts_of_the_period(seeded):
    _, data = build()
    archive = zipfile.ZipFile(io.BytesIO(data))

    rotations = read_csv(archive, "rotation_log.csv")
    assert [r["credential_id"] for r in rotations] == ["AKIAINPERIOD0001"]
    exceptions = read_csv(archive, "exceptions.csv")
    assert [(e["rule"], e["approver"], e["reason"]) for e in exceptions] == [
        ("ownership.none", "analyst@example.test", "Vendor migration ends in Q1")]
    assert exceptions[0]["expires"] == (NOW + timedelta(days=90)).date().isoformat()
    assert [f["rule"] for f in read_csv(archive, "findings.csv")] == ["ownership.none"]
    coverage = read_csv(archive, "sync_coverage.csv")
    assert [(c["name"], c["runs_in_period"], c["succeeded"]) for c in coverage] == [
        ("aws-prod", "1", "1")]
    assert coverage[0]["last_success_at"]
    assert len(read_csv(archive, "sync_runs.csv")) == 1
    alerts = read_csv(archive, "alerts.csv")
    assert [a["target"] for a in alerts] == ["https://hooks.example.test/…"]
    assert alerts[0]["last_error"].endswith("exceeded with url: …")


def test_it_neutralises_formulas_and_never_includes_a_secret(seeded):
    _, data = build()
    archive = zipfile.ZipFile(io.BytesIO(data))

    rows = {r["code"]: r for r in read_csv(archive, "inventory.csv")}
    evil = rows[str(seeded["evil"].code)]
    assert evil["name"] == "'=HYPERLINK(\"http://x.test\",\"go\")"
    assert evil["purpose"].startswith("'+cmd")
    decisions = read_csv(archive, "review_decisions.csv")
    assert "'=HYPERLINK" in {d["identity_name"][:11] for d in decisions}
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"XOXB-SECRET-TOKEN" not in everything and b"/services/T000" not in everything


def test_it_includes_the_audit_segment_and_its_verification(seeded):
    _, data = build()
    archive = zipfile.ZipFile(io.BytesIO(data))

    events = read_csv(archive, "audit_events.csv")
    assert "identity.update" in {e["action"] for e in events}
    assert all(len(e["hash"]) == 64 and len(e["prev_hash"]) == 64 for e in events)
    verification = json.loads(archive.read("audit_verification.json"))
    assert verification["ok"] is True
    assert verification["events_in_period"] == len(events)
    mapping = read_csv(archive, "control_mapping.csv")
    assert {"CC6.1", "CC6.2", "CC6.3", "CC7.2"} == {m["control"] for m in mapping}
    assert {m["file"] for m in mapping} <= set(FILES)


def test_it_audits_the_export_with_period_framework_and_hashes(seeded, users):
    pack, data = build("iso27001", Actor.for_user(users["auditor"]))
    archive = zipfile.ZipFile(io.BytesIO(data))

    event = AuditEvent.objects.filter(action=ACTION).get()
    assert event.actor == "auditor@example.test" and event.object_id == str(pack.code)
    assert event.after["framework"] == "iso27001"
    assert (event.after["start"], event.after["end"]) == (PERIOD.start.isoformat(),
                                                          PERIOD.end.isoformat())
    manifest = archive.read("manifest.json")
    assert event.after["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert event.after["files"]["inventory.csv"] == hashlib.sha256(
        archive.read("inventory.csv")).hexdigest()
    assert verify_chain().ok


def test_it_audits_a_download_abandoned_halfway(seeded):
    pack = EvidencePack.create("soc2", PERIOD, Actor.system("test"))
    stream = pack.stream()
    next(stream)
    stream.close()

    event = AuditEvent.objects.filter(action=ACTION).get()
    assert event.after["completed"] is False


def _more_rows(n: int) -> None:
    reviewer = PersonFactory()
    campaign = Campaign.objects.get(name="Q inside")
    for _ in range(n):
        identity = IdentityFactory(technical_owner=reviewer)
        CredentialFactory(identity=identity, created_at_source=INSIDE)
        _task(campaign, identity, reviewer, "confirm", at=INSIDE)
        _finding(identity, "ownership.none", status="open")


def test_it_runs_the_same_number_of_queries_whatever_the_row_count(seeded, settings):
    with CaptureQueriesContext(connection) as small:
        build()
    _more_rows(25)
    with CaptureQueriesContext(connection) as large:
        _, data = build()

    assert len(large) == len(small) <= 40
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    rows = {f["name"]: f.get("rows") for f in manifest["files"]}
    assert rows["inventory.csv"] == 27 and rows["review_decisions.csv"] == 28


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_it_maps_each_framework_to_real_controls(framework):
    controls = [c.id for c in FRAMEWORKS[framework].controls]
    assert len(controls) == len(set(controls)) >= 4
    assert all(set(c.files) <= set(FILES) for c in FRAMEWORKS[framework].controls)


def test_it_renders_a_summary_as_html_and_as_a_pdf_whose_pages_become_images(seeded, tmp_path):
    pdfium = pytest.importorskip("pypdfium2")
    _, data = build("nist_800_53")
    archive = zipfile.ZipFile(io.BytesIO(data))

    html = archive.read("summary.html").decode()
    assert "NIST SP 800-53 Rev. 5" in html and "AC-2(3)" in html and "Verified" in html
    document = pdfium.PdfDocument(archive.read("summary.pdf"))
    assert len(document) >= 1
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    assert "Evidence pack - NIST SP 800-53 Rev. 5" in text
    assert "AU-9" in text and "VERIFIED" in text and "review_decisions.csv" in text
    folder = os.environ.get("NHIGOV_SCREENSHOTS") or str(tmp_path)
    for number in range(len(document)):
        image = document[number].render(scale=1.5).to_pil()
        assert image.size[0] > 800 and image.getextrema() != ((255, 255), (255, 255), (255, 255))
        image.save(os.path.join(folder, f"evidence-summary-p{number + 1}.png"))


def test_it_signs_the_manifest_so_an_auditor_can_verify_it_offline(seeded, settings, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    path = tmp_path / "signing.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    settings.AUDIT_SIGNING_KEY_FILE = str(path)
    pack, data = build()
    archive = zipfile.ZipFile(io.BytesIO(data))

    signed = json.loads(archive.read("manifest.sig.json"))
    digest = hashlib.sha256(archive.read("manifest.json")).hexdigest()
    assert signed["payload"] == f"nhigov-evidence-manifest:v1|{pack.code}|{digest}"
    public = serialization.load_pem_public_key(signed["public_key_pem"].encode())
    public.verify(bytes.fromhex(signed["signature"]), signed["payload"].encode())  # raises if bad
    assert signed["algorithm"] == "ed25519"


def test_it_renders_the_same_cells_through_copy_as_through_the_orm(seeded):
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's; elsewhere both paths are the ORM's")
    from inventory import export
    from inventory.models import Identity
    from nhigov.evidence.copy import QueryCsv
    from nhigov.evidence.files import CsvFile, _stream

    IdentityFactory(name="-1+1", purpose="", tags=["ci", "@team"], interactive_login=True,
                    last_rotated_at=NOW.replace(microsecond=0), workload='say "hi", then\nbye')
    header, paths = [n for n, _ in export.COLUMNS], [p for _, p in export.COLUMNS]
    copied = QueryCsv(header, Identity.objects.all(), paths)
    through_orm = CsvFile(header, _stream(Identity.objects.all(), paths))

    def cells(csv_file) -> list[list]:
        rows = list(csv.reader(io.StringIO(b"".join(csv_file.chunks()).decode())))
        return [[_instant(value) for value in row] for row in rows]

    assert cells(copied) == cells(through_orm)
    assert copied.rows == through_orm.rows == 3


def _instant(value: str):
    """Timestamps compare as instants: PostgreSQL writes ".5" where Python writes ".500000"."""
    if len(value) >= 25 and value[10:11] == "T" and value.endswith("+00:00"):
        return datetime.fromisoformat(value)
    return value
