"""Import page: analysts and admins only; upload shows counts or every row error."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import Identity, Source
from nhigov.models import AuditEvent
from tests.factories import SourceFactory

URL = "/import/"
DATA = Path(__file__).resolve().parent.parent / "data"


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_it_renders_the_form_for_editors(client_for, role):
    SourceFactory(name="spreadsheet", kind="file")
    SourceFactory(name="aws-prod", kind="aws")
    response = client_for(role).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'enctype="multipart/form-data"' in body and "Download example CSV" in body
    assert '<option value="spreadsheet">' in body and "aws-prod" not in body
    assert "<code>technical_owner</code>" in body


@pytest.mark.parametrize("role", ["auditor", "owner"])
def test_it_refuses_read_only_roles(client_for, role):
    client = client_for(role)
    assert client.get(URL).status_code == 403
    response = client.post(URL, {"source": "x", "file": upload("a.csv", b"name,kind,provider\n"
                                                                       b"a,iam_user,aws\n")})
    assert response.status_code == 403
    assert not Identity.objects.exists()


def test_it_sends_anonymous_visitors_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_serves_the_example_csv(client_for):
    response = client_for("analyst").get(URL, {"download": "example"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode().startswith("name,kind,provider,")


def test_it_imports_an_upload_and_links_to_the_register(client_for, users):
    data = b"name,kind,provider,zone\nsvc-a,iam_user,aws,compute\nsvc-b,api_key,github,\n"
    response = client_for("analyst").post(URL, {"source": "spreadsheet",
                                                 "file": upload("ids.csv", data)})
    assert response.status_code == 200
    body = response.content.decode()
    source = Source.objects.get(name="spreadsheet")
    assert 'data-testid="import-success"' in body
    assert "2 created, 0 updated, 0 unchanged" in body
    assert f"/identities/?source={source.code}" in body
    assert Identity.objects.filter(source=source).count() == 2
    register = client_for("analyst").get(f"/identities/?source={source.code}").content.decode()
    assert "svc-a" in register and "svc-b" in register
    event = AuditEvent.objects.get(action="import")
    assert event.actor == users["analyst"].email and event.after["file_name"] == "ids.csv"


def test_it_shows_every_error_and_imports_nothing(client_for):
    response = client_for("analyst").post(URL, {
        "source": "spreadsheet",
        "file": upload("errors.csv", (DATA / "import_errors.csv").read_bytes()),
    })
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="import-errors"' in body and "Nothing was imported." in body
    assert "15 problems" in body
    assert "&#x27;robot&#x27; is not one of" in body
    assert not Identity.objects.exists() and not Source.objects.exists()


def test_it_requires_a_file_and_a_source_name(client_for):
    response = client_for("analyst").post(URL, {"source": ""})
    assert response.status_code == 200
    assert response.content.decode().count('class="errorlist') == 2
    assert not Source.objects.exists()
