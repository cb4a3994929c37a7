"""The policy page: everyone who sees the register reads it; admins save new versions;
an invalid document is refused with its lines and reasons."""

import pytest

from inventory.models import PolicyVersion
from inventory.risk import policy as policies

pytestmark = pytest.mark.django_db


def test_it_shows_the_defaults_before_any_version(client_for):
    page = client_for("auditor").get("/risk/policy/").content.decode()
    assert "rotation_days: 90" in page and "No version saved yet" in page


def test_an_admin_saves_a_new_version_with_a_reason(client_for, users):
    text = policies.default_document().replace("  dormant_days: 90 ", "  dormant_days: 120 ")
    response = client_for("admin").post("/risk/policy/edit/", {
        "document": text, "reason": "Batch jobs run quarterly"})
    assert response.status_code == 302
    version = PolicyVersion.objects.get()
    assert (version.number, version.author, version.reason) == (
        1, users["admin"], "Batch jobs run quarterly")
    assert policies.current().defaults["dormant_days"] == 120
    page = client_for("analyst").get("/risk/policy/").content.decode()
    assert "Batch jobs run quarterly" in page and "dormant_days: 120" in page
    assert client_for("analyst").get("/risk/policy/v1/").status_code == 200
    assert client_for("analyst").get("/risk/policy/v9/").status_code == 404


def test_an_invalid_document_is_refused_with_line_and_reason(client_for):
    text = policies.default_document().replace("  min_rsa_bits: 2048", "  min_rsa_bits: lots")
    line = text.splitlines().index(next(x for x in text.splitlines()
                                         if x.startswith("  min_rsa_bits: lots"))) + 1
    response = client_for("admin").post("/risk/policy/edit/", {"document": text,
                                                                "reason": "try"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f"line {line}: min_rsa_bits must be a whole number from 512 to 16384" in page
    assert not PolicyVersion.objects.exists()


@pytest.mark.parametrize("role", ["analyst", "auditor", "owner"])
def test_only_admins_edit_the_policy(client_for, role):
    assert client_for(role).get("/risk/policy/edit/").status_code == 403
    response = client_for(role).post("/risk/policy/edit/", {
        "document": policies.default_document(), "reason": "x"})
    assert response.status_code == 403
    assert not PolicyVersion.objects.exists()


def test_owners_do_not_read_the_policy_page(client_for):
    assert client_for("owner").get("/risk/policy/").status_code == 403
