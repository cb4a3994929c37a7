"""Django admin: admins see every user's API tokens (never a secret) and revoke them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from nhigov.lib import tokens
from nhigov.lib.audit import Actor
from nhigov.models import ApiToken, AuditEvent

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/nhigov/apitoken/"


def test_an_admin_lists_and_revokes_tokens(client_for, users):
    token, raw = tokens.issue(users["auditor"], "leaked one", "read",
                              timezone.now() + timedelta(days=5), Actor.system("t"))
    client = client_for("admin")
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    text = page.content.decode()
    assert "leaked one" in text and token.prefix in text
    assert raw not in text and token.digest not in text

    response = client.post(CHANGELIST, {"action": "revoke_selected",
                                        "_selected_action": [token.pk]}, follow=True)
    assert "1 token(s) revoked." in response.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    event = AuditEvent.objects.get(action="api_token.revoke")
    assert (event.actor, event.reason) == ("admin@example.test", "revoked by an administrator")


@pytest.mark.parametrize("role", ["analyst", "auditor", "owner"])
def test_other_roles_cannot_open_it(client_for, role):
    assert client_for(role).get(CHANGELIST).status_code in (302, 403)
