"""Changes made in Django admin land in the audit chain, with before/after and request."""

import pytest

from inventory.models import Environment, Source
from nhigov.lib.audit import verify_chain
from nhigov.lib.audit_admin import REDACTED, snapshot
from nhigov.models import AuditEvent
from tests.factories import SourceFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
RID = "admin-trace-0001"


def test_it_records_an_admin_addition(client_for, users):
    response = client_for("admin").post("/admin/inventory/environment/add/", {
        "slug": "staging", "name": "Staging"}, HTTP_X_REQUEST_ID=RID)
    assert response.status_code == 302
    env = Environment.objects.get(slug="staging")
    event = AuditEvent.objects.get(action="environment.create")
    assert (event.actor, event.actor_user_id, event.request_id) == (
        "admin@example.test", users["admin"].pk, RID)
    assert (event.object_id, event.before, event.after["name"]) == (str(env.pk), {}, "Staging")
    assert event.reason == "Django admin: Added."


def test_it_records_only_the_changed_fields_of_an_admin_edit(client_for):
    team = TeamFactory(name="Payments", slug="payments", email="old@example.test")
    response = client_for("admin").post(f"/admin/ownership/team/{team.pk}/change/", {
        "name": "Payments", "slug": "payments", "description": "",
        "email": "payments@example.test"}, HTTP_X_REQUEST_ID=RID)
    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="team.update")
    assert (event.object_type, event.object_id) == ("team", str(team.code))
    assert event.before == {"email": "old@example.test"}
    assert event.after == {"email": "payments@example.test"}
    assert event.reason.startswith("Django admin: Changed") and event.request_id == RID


def test_it_records_an_admin_deletion(client_for):
    source = SourceFactory(name="gone-source")
    response = client_for("admin").post(f"/admin/inventory/source/{source.pk}/delete/",
                                        {"post": "yes"}, HTTP_X_REQUEST_ID=RID)
    assert response.status_code == 302
    assert not Source.objects.filter(pk=source.pk).exists()
    event = AuditEvent.objects.get(action="source.delete")
    assert (event.object_id, event.request_id) == (str(source.code), RID)
    assert event.before["name"] == "gone-source" and event.after == {}
    assert verify_chain().ok


def test_it_never_copies_a_password_hash():
    user = UserFactory(username="someone@example.test")
    data = snapshot(user)
    assert data["password"] == REDACTED and user.password not in str(data)
    assert data["email"] == user.email


def test_it_never_copies_mfa_seeds_or_social_app_keys():
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialApp

    totp = Authenticator(user=UserFactory(), type="totp", data={"secret": "JBSWY3DPEHPK3PXP"})
    app = SocialApp(provider="apple", name="Apple", client_id="id",
                    settings={"certificate_key": "-----BEGIN PRIVATE KEY-----"})
    assert snapshot(totp)["data"] == REDACTED and "JBSWY3DP" not in str(snapshot(totp))
    assert snapshot(app)["settings"] == REDACTED and "PRIVATE" not in str(snapshot(app))
    assert snapshot(app)["client_id"] == "id"
