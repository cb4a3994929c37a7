"""One identity: the detail page (fields, credentials, history, owner scope) and the
audited edit form."""

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.models import Identity
from nhigov.lib.audit import Actor, Change, record, record_many, verify_chain
from nhigov.models import AuditEvent
from tests.factories import (
    CredentialFactory,
    EnvironmentFactory,
    IdentityFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)

UNKNOWN = "00000000-0000-0000-0000-000000000000"


def detail_url(identity) -> str:
    return reverse("inventory:identity_detail", args=[identity.code])


def edit_url(identity) -> str:
    return reverse("inventory:identity_edit", args=[identity.code])


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def updates() -> list:
    return list(AuditEvent.objects.filter(action="identity.update"))


class FormFields(HTMLParser):
    """What a browser would submit from the edit page's form, as rendered."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a["name"] != "csrfmiddlewaretoken":
            self.data[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
            self.data.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def rendered_form(client, identity) -> dict[str, str]:
    response = client.get(edit_url(identity))
    assert response.status_code == 200
    form = re.search(r'<form method="post" class="panel".*?</form>', response.content.decode(),
                     re.S).group(0)
    parser = FormFields()
    parser.feed(form)
    # Browsers drop the newline Django writes right after <textarea>.
    return {k: v.removeprefix("\n") for k, v in parser.data.items()}


@pytest.fixture
def estate(users, owner_person) -> dict:
    ops = TeamFactory(name="Platform Ops", slug="platform-ops")
    alice = PersonFactory(name="Alice Ops", email="alice@corp.test", team=ops)
    bob = PersonFactory(name="Bob Data", email="bob@corp.test", team=ops)
    staging = EnvironmentFactory(slug="staging")
    mine = IdentityFactory(
        name="billing-deployer", path="/ci/billing-deployer", purpose="Deploys billing",
        workload="billing-api", change_ticket="CHG-1234", technical_owner=alice,
        business_owner=owner_person, team=ops, zone="compute", privilege="admin",
        permissions_summary="AdministratorAccess", auth_method="static_secret",
        interactive_login=True, environment=staging, tags=["pci", "billing"],
        external_id="arn:aws:iam::123456789012:user/billing-deployer",
        last_used_at=datetime(2025, 2, 3, 4, 5, tzinfo=UTC), expires_at=None,
        attributes={"policies": ["AdministratorAccess"]},
        owner_hints={"technical_owner": "carol@corp.test", "team": "platform-ops"},
    )
    theirs = IdentityFactory(name="someone-elses", technical_owner=bob)
    CredentialFactory(
        identity=mine, kind="access_key", external_id="AKIAEXAMPLEKEY000001",
        fingerprint="SHA256:abcdef0123456789abcdef0123456789", key_algorithm="RSA",
        key_size=2048, attributes={"secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLE"},
    )
    return {"mine": mine, "theirs": theirs, "ops": ops, "alice": alice, "bob": bob,
            "staging": staging}


# --- detail: access ------------------------------------------------------------------


def test_it_sends_anonymous_visitors_to_login(estate):
    response = Client().get(detail_url(estate["mine"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("role", ["admin", "analyst", "auditor", "owner"])
def test_it_shows_an_identity_to_everyone_who_may_see_it(client_for, estate, role):
    response = client_for(role).get(detail_url(estate["mine"]))
    assert response.status_code == 200
    assert "<h1>billing-deployer</h1>" in response.content.decode()


@pytest.mark.parametrize("field", ["technical_owner", "business_owner", "backup_owner"])
def test_it_shows_an_owner_what_they_own_in_any_role(client_for, owner_person, field):
    identity = IdentityFactory(**{field: owner_person})
    assert client_for("owner").get(detail_url(identity)).status_code == 200


def test_it_hides_other_identities_from_an_owner_with_404(client_for, estate):
    response = client_for("owner").get(detail_url(estate["theirs"]))
    assert response.status_code == 404  # not 403: an owner must not learn it exists
    assert "someone-elses" not in response.content.decode()


def test_it_answers_404_for_an_unknown_code(client_for, estate):
    url = reverse("inventory:identity_detail", args=[UNKNOWN])
    assert client_for("analyst").get(url).status_code == 404
    assert client_for("owner").get(url).status_code == 404


def test_it_refuses_users_without_a_role(estate):
    client = Client()
    client.force_login(UserFactory())
    assert client.get(detail_url(estate["mine"])).status_code == 403


def test_it_offers_the_edit_link_only_to_editors(client_for, estate):
    link = f'href="{edit_url(estate["mine"])}"'
    assert link in client_for("analyst").get(detail_url(estate["mine"])).content.decode()
    assert link in client_for("admin").get(detail_url(estate["mine"])).content.decode()
    assert link not in client_for("auditor").get(detail_url(estate["mine"])).content.decode()
    assert link not in client_for("owner").get(detail_url(estate["mine"])).content.decode()


# --- detail: content -----------------------------------------------------------------


def test_it_shows_the_identity_fields(client_for, estate):
    body = client_for("analyst").get(detail_url(estate["mine"])).content.decode()
    for text in (
        "IAM user · AWS · source <strong>aws-prod</strong> · Staging",
        '<span class="badge badge-admin">Admin privilege</span>',
        '<span class="zone zone-compute">Compute zone</span>',
        'Alice Ops</a> <span class="muted small">alice@corp.test</span>',
        'Olive Owner</a> <span class="muted small">owner@example.test</span>',
        "<dt>Backup owner</dt><dd><span class=\"badge badge-bad\">none</span>",
        f'href="{reverse("ownership:team_detail", args=[estate["ops"].code])}">Platform Ops</a>',
        "<dd>Deploys billing</dd>", "<dd>billing-api</dd>", "<dd>CHG-1234</dd>",
        '<span class="chip">pci</span> <span class="chip">billing</span>',
        "<dd>AdministratorAccess</dd>", "<dd>Static secret</dd>",
        '<dt>Interactive login</dt><dd><span class="warn-text">Yes</span>',
        "<code>arn:aws:iam::123456789012:user/billing-deployer</code>",
        "<code>/ci/billing-deployer</code>", "2025-02-03 04:05", "no expiry",
    ):
        assert text in body, text


def test_it_shows_source_hints_that_differ_from_the_register(client_for, estate):
    body = client_for("analyst").get(detail_url(estate["mine"])).content.decode()
    assert "Suggested by the source" in body
    assert "<li>technicalowner: <code>carol@corp.test</code></li>" in body
    assert "<code>platform-ops</code>" not in body  # same as the register: no hint


def test_it_lists_credential_metadata(client_for, estate):
    body = client_for("analyst").get(detail_url(estate["mine"])).content.decode()
    table = re.search(r'data-testid="credentials">.*?</table>', body, re.S).group(0)
    assert "<td>Access key</td>" in table
    assert "<code>AKIAEXAMPLEKEY000001</code>" in table
    assert '<code class="small">SHA256:abcdef0123456789…</code>' in table  # truncated
    assert "RSA 2048" in table
    assert "metadata only — nhigov never stores secret values" in body


def test_it_never_shows_a_secret_looking_field(client_for, estate):
    body = client_for("analyst").get(detail_url(estate["mine"])).content.decode()
    assert "wJalrXUtnFEMI" not in body
    assert "secret_access_key" not in body


def test_it_says_when_there_are_no_credentials(client_for, estate):
    body = client_for("analyst").get(detail_url(estate["theirs"])).content.decode()
    assert "No credentials recorded for this identity." in body


def test_it_shows_the_identitys_history_newest_first(client_for, estate):
    mine, theirs = estate["mine"], estate["theirs"]
    actor = Actor("user", "analyst@example.test", None)
    record(actor, Change("identity.update", "identity", mine.code, mine.name,
                         {"zone": "storage"}, {"zone": "compute"}), "Moved to compute")
    record(actor, Change("identity.bulk_update", "identity", mine.code, mine.name,
                         {"technical_owner": None}, {"technical_owner": "alice@corp.test"}),
           "Alice owns billing")
    record(actor, Change("identity.update", "identity", theirs.code, theirs.name,
                         {"zone": ""}, {"zone": "secret-other-change"}), "Not this one")
    body = client_for("analyst").get(detail_url(mine)).content.decode()
    history = re.search(r'data-testid="history">.*?</ul>', body, re.S).group(0)
    assert history.index("Alice owns billing") < history.index("Moved to compute")
    assert "identity.bulk_update — <em>Alice owns billing</em>" in history
    assert ('technical_owner: <span class="old">∅</span> → '
            '<span class="new">alice@corp.test</span>') in history
    assert 'zone: <span class="old">storage</span> → <span class="new">compute</span>' in history
    assert "<strong>analyst@example.test</strong>" in history
    assert "Not this one" not in history and "secret-other-change" not in history


def test_it_shows_at_most_the_latest_100_events(client_for, estate):
    mine = estate["mine"]
    changes = [Change("identity.update", "identity", mine.code, mine.name, {"workload": str(n)},
                      {"workload": f"w-{n:03d}"}) for n in range(105)]
    record_many(Actor.system("test"), changes, "bulk history")
    body = client_for("analyst").get(detail_url(mine)).content.decode()
    history = re.search(r'data-testid="history">.*?</ul>', body, re.S).group(0)
    assert history.count("<li>") == 100
    assert "w-104" in history and "w-005" in history
    assert "w-004" not in history


def test_it_says_when_nothing_has_been_recorded(client_for, estate):
    body = client_for("analyst").get(detail_url(estate["theirs"])).content.decode()
    assert "No changes recorded yet." in body


# --- edit: access --------------------------------------------------------------------


@pytest.mark.parametrize("role,status", [("analyst", 200), ("admin", 200), ("auditor", 403),
                                         ("owner", 403)])
def test_it_opens_the_edit_page_only_for_editors(client_for, estate, role, status):
    assert client_for(role).get(edit_url(estate["mine"])).status_code == status


def test_it_answers_404_for_editing_an_unknown_code(client_for, estate):
    url = reverse("inventory:identity_edit", args=[UNKNOWN])
    assert client_for("analyst").get(url).status_code == 404


@pytest.mark.parametrize("role", ["auditor", "owner"])
def test_it_refuses_edits_from_readers_and_changes_nothing(client_for, estate, role):
    response = client_for(role).post(edit_url(estate["mine"]), {
        "purpose": "hijacked", "reason": "because", "technical_owner": "owner@example.test"})
    assert response.status_code == 403
    mine = Identity.objects.get(pk=estate["mine"].pk)
    assert (mine.purpose, mine.technical_owner) == ("Deploys billing", estate["alice"])
    assert updates() == []


def test_it_fills_the_form_with_emails_and_a_tag_list(client_for, estate):
    data = rendered_form(client_for("analyst"), estate["mine"])
    assert data["technical_owner"] == "alice@corp.test"
    assert data["business_owner"] == "owner@example.test"
    assert data["backup_owner"] == ""
    assert data["team"] == str(estate["ops"].pk)
    assert data["environment"] == str(estate["staging"].pk)
    assert data["zone"] == "compute"
    assert data["tags"] == "pci, billing"
    assert data["purpose"] == "Deploys billing"
    assert data["reason"] == ""


def test_it_suggests_active_people_by_email(client_for, estate):
    PersonFactory(email="gone@corp.test", is_active=False)
    body = client_for("analyst").get(edit_url(estate["mine"])).content.decode()
    assert '<option value="alice@corp.test">' in body
    assert "gone@corp.test" not in body


# --- edit: saving --------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_requires_a_reason_and_changes_nothing(client_for, estate, reason):
    client = client_for("analyst")
    data = {**rendered_form(client, estate["mine"]), "purpose": "New purpose", "reason": reason}
    response = client.post(edit_url(estate["mine"]), data)
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["This field is required."]
    assert Identity.objects.get(pk=estate["mine"].pk).purpose == "Deploys billing"
    assert updates() == []


def test_it_saves_the_changes_and_audits_them_once(client_for, estate, users):
    client = client_for("analyst")
    mine = estate["mine"]
    data = {**rendered_form(client, mine), "technical_owner": "BOB@corp.test",
            "purpose": "Deploys billing and invoicing", "zone": "management",
            "tags": "pci, invoicing", "reason": "Bob's team took over invoicing (CHG-99)"}
    response = client.post(edit_url(mine), data)
    assert response.status_code == 302
    assert response["Location"] == detail_url(mine)
    assert flash(response) == ["Saved: technical_owner, purpose, zone, tags."]
    mine.refresh_from_db()
    assert mine.technical_owner == estate["bob"]
    assert mine.purpose == "Deploys billing and invoicing"
    assert mine.zone == "management"
    assert mine.tags == ["pci", "invoicing"]
    assert (mine.business_owner.email, mine.team, mine.workload) == (
        "owner@example.test", estate["ops"], "billing-api")  # untouched
    [event] = updates()
    assert (event.object_type, event.object_id, event.object_repr) == (
        "identity", str(mine.code), "billing-deployer")
    assert event.before == {"technical_owner": "alice@corp.test", "purpose": "Deploys billing",
                            "zone": "compute", "tags": ["pci", "billing"]}
    assert event.after == {"technical_owner": "bob@corp.test",
                           "purpose": "Deploys billing and invoicing", "zone": "management",
                           "tags": ["pci", "invoicing"]}
    assert event.reason == "Bob's team took over invoicing (CHG-99)"
    assert event.actor == "analyst@example.test" and event.actor_user_id == users["analyst"].pk
    assert verify_chain().ok


def test_it_shows_the_saved_message_and_the_change_on_the_detail_page(client_for, estate):
    client = client_for("analyst")
    data = {**rendered_form(client, estate["mine"]), "workload": "invoicing-api",
            "reason": "renamed"}
    page = client.post(edit_url(estate["mine"]), data, follow=True)
    body = page.content.decode()
    assert '<div class="msg msg-success">Saved: workload.</div>' in body
    assert ('workload: <span class="old">billing-api</span> → '
            '<span class="new">invoicing-api</span>') in body


def test_it_audits_cleared_owners_team_and_new_dates(client_for, estate):
    client = client_for("analyst")
    data = {**rendered_form(client, estate["mine"]), "business_owner": "", "team": "",
            "expires_at": "2030-01-02T03:04", "reason": "Decommission plan"}
    client.post(edit_url(estate["mine"]), data)
    [event] = updates()
    assert event.before == {"business_owner": "owner@example.test", "team": "platform-ops",
                            "expires_at": None}
    assert event.after == {"business_owner": None, "team": None,
                           "expires_at": "2030-01-02T03:04:00+00:00"}


def test_it_says_nothing_changed_and_records_no_event(client_for, estate):
    client = client_for("analyst")
    before = Identity.objects.get(pk=estate["mine"].pk)
    data = {**rendered_form(client, estate["mine"]), "reason": "Just checking"}
    response = client.post(edit_url(estate["mine"]), data)
    assert response.status_code == 302
    assert flash(response) == ["Nothing changed."]
    assert updates() == []
    assert Identity.objects.get(pk=estate["mine"].pk).updated_at == before.updated_at


def test_it_says_nothing_changed_for_an_untouched_expiry_with_seconds(client_for, estate):
    mine = estate["mine"]
    Identity.objects.filter(pk=mine.pk).update(
        expires_at=timezone.now().replace(second=42, microsecond=123456) + timedelta(days=30))
    client = client_for("analyst")
    data = {**rendered_form(client, mine), "reason": "Only looking"}
    response = client.post(edit_url(mine), data)
    assert flash(response) == ["Nothing changed."]
    assert updates() == []


def test_it_says_nothing_changed_for_an_untouched_multiline_purpose(client_for, estate):
    mine = estate["mine"]
    Identity.objects.filter(pk=mine.pk).update(purpose="Deploys billing.\nOwned by FinOps.")
    client = client_for("analyst")
    data = {**rendered_form(client, mine), "reason": "Only looking"}
    assert data["purpose"] == "Deploys billing.\nOwned by FinOps."
    data["purpose"] = data["purpose"].replace("\n", "\r\n")  # as every browser sends it
    response = client.post(edit_url(mine), data)
    assert flash(response) == ["Nothing changed."]
    assert updates() == []


def test_it_accepts_an_existing_owner_with_a_mixed_case_email(client_for, estate):
    carol = PersonFactory(name="Carol", email="Carol.Smith@Corp.test")
    Identity.objects.filter(pk=estate["mine"].pk).update(technical_owner=carol)
    client = client_for("analyst")
    data = {**rendered_form(client, estate["mine"]), "purpose": "Changed", "reason": "typo"}
    assert data["technical_owner"] == "Carol.Smith@Corp.test"
    response = client.post(edit_url(estate["mine"]), data)
    assert response.status_code == 302
    assert Identity.objects.get(pk=estate["mine"].pk).purpose == "Changed"


@pytest.mark.parametrize("field", ["technical_owner", "business_owner", "backup_owner"])
def test_it_refuses_an_unknown_owner_email(client_for, estate, field):
    client = client_for("analyst")
    data = {**rendered_form(client, estate["mine"]), field: "ghost@corp.test",
            "purpose": "Also changed", "reason": "new owner"}
    response = client.post(edit_url(estate["mine"]), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [
        "No person with this email. Add them under People first."]
    assert "No person with this email. Add them under People first." in response.content.decode()
    mine = Identity.objects.get(pk=estate["mine"].pk)
    assert (mine.purpose, mine.technical_owner) == ("Deploys billing", estate["alice"])
    assert updates() == []


@pytest.mark.parametrize("typed,stored", [
    ("pci, ml-training", ["pci", "ml-training"]),
    (" pci ,, ml-training ,pci, ", ["pci", "ml-training"]),  # trimmed, blanks and repeats go
    ("", []),
    ("x" * 80, ["x" * 64]),  # each tag capped at 64 characters
])
def test_it_parses_tags_from_a_comma_list(client_for, estate, typed, stored):
    client = client_for("analyst")
    data = {**rendered_form(client, estate["mine"]), "tags": typed, "reason": "tagging"}
    client.post(edit_url(estate["mine"]), data)
    assert Identity.objects.get(pk=estate["mine"].pk).tags == stored
    [event] = updates()
    assert event.after == {"tags": stored}


def test_it_refuses_an_invalid_choice(client_for, estate):
    client = client_for("analyst")
    data = {**rendered_form(client, estate["mine"]), "zone": "dmz", "reason": "x"}
    response = client.post(edit_url(estate["mine"]), data)
    assert response.status_code == 200
    assert "zone" in response.context["form"].errors
    assert Identity.objects.get(pk=estate["mine"].pk).zone == "compute"
    assert updates() == []


def test_it_cannot_edit_fields_owned_by_discovery(client_for, estate):
    client = client_for("analyst")
    data = {**rendered_form(client, estate["mine"]), "name": "renamed", "privilege": "read",
            "external_id": "forged", "purpose": "p2", "reason": "try"}
    client.post(edit_url(estate["mine"]), data)
    mine = Identity.objects.get(pk=estate["mine"].pk)
    assert (mine.name, mine.privilege, mine.external_id) == (
        "billing-deployer", "admin", "arn:aws:iam::123456789012:user/billing-deployer")
    assert mine.purpose == "p2"
