"""Secret-scanner reports (gitleaks, trufflehog): matched to credentials by key id or
fingerprint, never storing the secret; a match on an active credential is NHI2."""

import hashlib
import json

import pytest

from inventory.models import LeakReport
from inventory.risk.engine import evaluate_all
from inventory.risk.leaks import ReportError, import_report, parse_report
from nhigov.lib.audit import Actor
from nhigov.models import AuditEvent
from tests.factories import CredentialFactory
from tests.risk.cases import clean_identity, days
from tests.risk.helpers import fired

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def gitleaks(secret: str, match: str) -> bytes:
    return json.dumps([{
        "Description": "AWS Access Key", "RuleID": "aws-access-token", "File": "deploy/ci.env",
        "StartLine": 3, "Commit": "9f1c2ab", "Secret": secret, "Match": match,
        "Fingerprint": "9f1c2ab:deploy/ci.env:aws-access-token:3",
    }]).encode()


def trufflehog(raw: str, extra: dict | None = None) -> bytes:
    line = {"SourceMetadata": {"Data": {"Git": {"commit": "77ab", "file": "app/settings.py",
                                                "repository": "https://git.example/app",
                                                "line": 12}}},
            "DetectorName": "AWS", "Verified": True, "Raw": raw, "RawV2": raw + SECRET,
            "Redacted": raw, "ExtraData": extra or {}}
    return (json.dumps(line) + "\n").encode()


@pytest.fixture
def key():
    identity = clean_identity(name="svc-deployer")
    return CredentialFactory(identity=identity, kind="access_key", external_id=KEY_ID,
                             created_at_source=days(-5))


def test_a_gitleaks_match_on_an_active_key_is_a_critical_finding(key):
    result = import_report(gitleaks(KEY_ID, f"AWS_ACCESS_KEY_ID={KEY_ID}"), ACTOR)
    assert (result.tool, result.found, result.imported, result.matched) == ("gitleaks", 1, 1, 1)
    report = LeakReport.objects.get()
    assert report.credential == key and report.key_id == KEY_ID
    assert report.location == "deploy/ci.env:3"
    assert SECRET not in json.dumps(list(LeakReport.objects.values()), default=str)
    evaluate_all("test")
    assert "leak.scanner_match" in fired(key.identity)
    assert AuditEvent.objects.filter(action="leaks.import").exists()
    # Rotating the key (the old one goes inactive) resolves the finding.
    key.status = "inactive"
    key.save()
    evaluate_all("test")
    assert "leak.scanner_match" not in fired(key.identity)


def test_trufflehog_lines_are_matched_and_duplicates_recognised(key):
    data = trufflehog(KEY_ID)
    first = import_report(data, ACTOR)
    again = import_report(data, ACTOR)
    assert (first.tool, first.matched, again.imported, again.duplicates) == (
        "trufflehog", 1, 0, 1)
    report = LeakReport.objects.get()
    assert report.location == "https://git.example/app app/settings.py 12"
    assert report.detector == "AWS" and report.commit == "77ab"


def test_a_secret_is_matched_by_its_sha256_fingerprint():
    token = "ghp_" + "x" * 36
    identity = clean_identity(provider="github", name="ci-bot")
    credential = CredentialFactory(identity=identity, kind="api_key", external_id="pat-1",
                                   fingerprint=hashlib.sha256(token.encode()).hexdigest())
    result = import_report(trufflehog(token), ACTOR)
    assert result.matched == 1
    assert LeakReport.objects.get().credential == credential
    assert token not in LeakReport.objects.get().secret_hmac


def test_a_leak_reported_before_its_credential_is_known_matches_later_by_key_id():
    import_report(gitleaks(KEY_ID, KEY_ID), ACTOR)
    assert LeakReport.objects.get().credential is None
    identity = clean_identity()
    CredentialFactory(identity=identity, kind="access_key", external_id=KEY_ID,
                      created_at_source=days(-1))
    evaluate_all("test")
    assert "leak.scanner_match" in fired(identity)


@pytest.mark.parametrize("data", [b"{not json", b'[{"foo": 1}]', b"[1, 2]"])
def test_it_refuses_what_is_not_a_scanner_report(data):
    with pytest.raises(ReportError):
        parse_report(data)


def test_the_import_page(client_for, key):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("gitleaks.json", gitleaks(KEY_ID, KEY_ID))
    response = client_for("analyst").post("/risk/leaks/", {"report": upload}, follow=True)
    page = response.content.decode()
    assert "1 matched to a credential" in page and "svc-deployer" in page
    assert "leak.scanner_match" in fired(key.identity)  # evaluated at once
    bad = SimpleUploadedFile("x.json", b"[1]")
    page = client_for("analyst").post("/risk/leaks/", {"report": bad}).content.decode()
    assert "not a JSON object" in page
    assert client_for("auditor").get("/risk/leaks/").status_code == 403
