"""Bulk assignment of an owner, team or zone: selected rows or all matching, one audit
event per changed identity, validation, and who may do it."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from inventory.editing import bulk_assign
from inventory.models import Identity
from nhigov.lib.audit import Actor, verify_chain
from nhigov.models import AuditEvent
from tests.factories import IdentityFactory, PersonFactory, SourceFactory, TeamFactory

BULK = reverse("inventory:identity_bulk")
LIST = reverse("inventory:identity_list")


def post(client, **data):
    defaults = {"field": "zone", "value": "storage", "scope": "selected", "filter_query": "",
                "reason": "Quarterly ownership clean-up"}
    return client.post(BULK, {**defaults, **data})


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def snapshot() -> dict:
    return {i.name: (i.zone, i.team_id, i.technical_owner_id, i.business_owner_id,
                     i.backup_owner_id, i.updated_at)
            for i in Identity.objects.all()}


def events() -> list:
    return list(AuditEvent.objects.filter(action="identity.bulk_update").order_by("id"))


@pytest.fixture
def estate(users, owner_person) -> dict:
    ops = TeamFactory(name="Platform Ops", slug="platform-ops")
    data = TeamFactory(name="Data", slug="data")
    alice = PersonFactory(name="Alice", email="alice@corp.test", team=ops)
    bob = PersonFactory(name="Bob", email="bob@corp.test", team=data)
    vault = SourceFactory(name="vault-main", kind="vault")
    rows = {
        "a-aws": IdentityFactory(name="a-aws", zone="compute", team=data, technical_owner=bob),
        "b-aws": IdentityFactory(name="b-aws", zone="storage"),
        "c-vault": IdentityFactory(name="c-vault", source=vault, provider="vault",
                                   zone="management"),
        "d-vault": IdentityFactory(name="d-vault", source=vault, provider="vault", zone="",
                                   technical_owner=alice),
        "e-mine": IdentityFactory(name="e-mine", zone="compute", technical_owner=owner_person),
    }
    return {"rows": rows, "ops": ops, "data": data, "alice": alice, "bob": bob}


def codes(estate, *names) -> list[str]:
    return [str(estate["rows"][n].code) for n in names]


def fresh(estate, name) -> Identity:
    return Identity.objects.get(pk=estate["rows"][name].pk)


# --- selected rows -------------------------------------------------------------------


def test_it_assigns_a_team_to_the_selected_rows(client_for, estate):
    response = post(client_for("analyst"), field="team", value="Platform Ops",
                    selected=codes(estate, "a-aws", "b-aws"))
    assert response.status_code == 302
    assert flash(response) == ["Set team to Platform Ops on 2 identities."]
    assert fresh(estate, "a-aws").team == estate["ops"]
    assert fresh(estate, "b-aws").team == estate["ops"]
    assert fresh(estate, "c-vault").team is None


def test_it_finds_a_team_by_slug_in_any_case(client_for, estate):
    post(client_for("analyst"), field="team", value="PLATFORM-OPS",
         selected=codes(estate, "c-vault"))
    assert fresh(estate, "c-vault").team == estate["ops"]


def test_it_assigns_a_zone_to_the_selected_rows(client_for, estate):
    response = post(client_for("analyst"), field="zone", value="Access",
                    selected=codes(estate, "a-aws", "d-vault"))
    assert flash(response) == ["Set zone to Access on 2 identities."]
    assert fresh(estate, "a-aws").zone == "access"
    assert fresh(estate, "d-vault").zone == "access"
    assert fresh(estate, "b-aws").zone == "storage"


def test_it_assigns_a_technical_owner_by_email(client_for, estate):
    response = post(client_for("analyst"), field="technical_owner", value=" Alice@CORP.test ",
                    selected=codes(estate, "a-aws", "b-aws"))
    assert flash(response) == ["Set technical owner to Alice@CORP.test on 2 identities."]
    assert fresh(estate, "a-aws").technical_owner == estate["alice"]
    assert fresh(estate, "b-aws").technical_owner == estate["alice"]
    assert fresh(estate, "c-vault").technical_owner is None


@pytest.mark.parametrize("field", ["business_owner", "backup_owner"])
def test_it_assigns_the_other_owner_roles(client_for, estate, field):
    post(client_for("analyst"), field=field, value="bob@corp.test",
         selected=codes(estate, "c-vault"))
    assert getattr(fresh(estate, "c-vault"), field) == estate["bob"]
    assert getattr(fresh(estate, "d-vault"), field) is None


def test_it_lets_an_admin_assign_too(client_for, estate):
    post(client_for("admin"), field="zone", value="access", selected=codes(estate, "b-aws"))
    assert fresh(estate, "b-aws").zone == "access"


def test_it_returns_to_the_register_with_the_same_filter(client_for, estate):
    response = post(client_for("analyst"), selected=codes(estate, "a-aws"),
                    filter_query="provider=aws&sort=-name")
    assert response["Location"] == f"{LIST}?provider=aws&sort=-name"


# --- all matching --------------------------------------------------------------------


def test_it_assigns_to_all_rows_matching_the_filter(client_for, estate):
    response = post(client_for("analyst"), field="team", value="data", scope="all",
                    filter_query="provider=vault", selected=codes(estate, "a-aws"))
    assert flash(response) == ["Set team to data on 2 identities."]
    assert {i.name for i in Identity.objects.filter(team=estate["data"])} == {
        "a-aws", "c-vault", "d-vault"}  # a-aws was already in Data; its selection is ignored
    assert fresh(estate, "b-aws").team is None
    assert fresh(estate, "e-mine").team is None


def test_it_assigns_to_all_rows_matching_a_search_and_a_choice(client_for, estate):
    post(client_for("analyst"), field="zone", value="access", scope="all",
         filter_query="q=aws&zone=compute")
    assert {i.name for i in Identity.objects.filter(zone="access")} == {"a-aws"}


def test_it_assigns_to_everything_when_no_filter_is_given(client_for, estate):
    response = post(client_for("analyst"), field="zone", value="access", scope="all")
    assert flash(response) == ["Set zone to access on 5 identities."]
    assert set(Identity.objects.values_list("zone", flat=True)) == {"access"}


def test_it_refuses_an_invalid_filter_for_all_matching(client_for, estate):
    before = snapshot()
    response = post(client_for("analyst"), scope="all", filter_query="expires_within=abc")
    assert flash(response) == ["The filter is not valid; nothing was changed."]
    assert snapshot() == before
    assert events() == []


# --- audit ---------------------------------------------------------------------------


def test_it_audits_every_changed_identity_with_before_after_and_reason(client_for, estate, users):
    post(client_for("analyst"), field="technical_owner", value="alice@corp.test",
         selected=codes(estate, "a-aws", "b-aws"), reason="Alice took over billing")
    recorded = {e.object_repr: e for e in events()}
    assert set(recorded) == {"a-aws", "b-aws"}
    a = recorded["a-aws"]
    assert (a.object_type, a.object_id) == ("identity", str(estate["rows"]["a-aws"].code))
    assert a.before == {"technical_owner": "bob@corp.test"}
    assert a.after == {"technical_owner": "alice@corp.test"}
    assert a.reason == "Alice took over billing"
    assert a.actor == "analyst@example.test" and a.actor_user_id == users["analyst"].pk
    assert recorded["b-aws"].before == {"technical_owner": None}
    assert verify_chain().ok


def test_it_audits_teams_by_slug_and_zones_by_value(client_for, estate):
    post(client_for("analyst"), field="team", value="Platform Ops",
         selected=codes(estate, "a-aws", "b-aws"))
    post(client_for("analyst"), field="zone", value="access", selected=codes(estate, "d-vault"))
    recorded = {(e.object_repr, *e.after): e for e in events()}
    assert recorded[("a-aws", "team")].before == {"team": "data"}
    assert recorded[("a-aws", "team")].after == {"team": "platform-ops"}
    assert recorded[("b-aws", "team")].before == {"team": None}
    assert recorded[("d-vault", "zone")].before == {"zone": ""}
    assert recorded[("d-vault", "zone")].after == {"zone": "access"}


def test_it_does_not_touch_or_audit_rows_already_at_the_value(client_for, estate):
    unchanged = fresh(estate, "b-aws").updated_at
    response = post(client_for("analyst"), field="zone", value="storage",
                    selected=codes(estate, "a-aws", "b-aws", "c-vault"))
    assert flash(response) == ["Set zone to storage on 2 identities."]
    assert {e.object_repr for e in events()} == {"a-aws", "c-vault"}
    assert fresh(estate, "b-aws").updated_at == unchanged


def test_it_audits_nothing_when_every_row_already_has_the_value(client_for, estate):
    response = post(client_for("analyst"), field="team", value="data",
                    selected=codes(estate, "a-aws"))
    assert flash(response) == ["Set team to data on 0 identities."]
    assert events() == []


def test_it_audits_each_row_once_across_chunks(estate):
    changed = bulk_assign(Identity.objects.all(), "zone", "access",
                          Actor.system("test"), "chunked", chunk=2)
    assert changed == 5
    assert sorted(e.object_repr for e in events()) == sorted(estate["rows"])
    assert set(Identity.objects.values_list("zone", flat=True)) == {"access"}
    assert verify_chain().ok


# --- validation ----------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_refuses_a_change_without_a_reason(client_for, estate, reason):
    before = snapshot()
    response = post(client_for("analyst"), selected=codes(estate, "a-aws"), reason=reason)
    assert response.status_code == 302
    assert flash(response) == ["This field is required."]
    assert snapshot() == before
    assert events() == []


def test_it_shows_the_error_on_the_register(client_for, estate):
    client = client_for("analyst")
    response = post(client, field="team", value="nobody-team", selected=codes(estate, "a-aws"),
                    filter_query="provider=aws")
    page = client.get(response["Location"])
    body = page.content.decode()
    assert '<div class="msg msg-error">No team named &#x27;nobody-team&#x27;.</div>' in body
    assert page.context["filter_query"] == "provider=aws"


@pytest.mark.parametrize("field,value,message", [
    ("technical_owner", "ghost@corp.test", "No person with email 'ghost@corp.test'."),
    ("business_owner", "ghost@corp.test", "No person with email 'ghost@corp.test'."),
    ("team", "Nobody", "No team named 'Nobody'."),
    ("zone", "dmz", "Unknown zone 'dmz'; use one of ['access', 'management', 'compute', "
                    "'storage']."),
    ("risk_score", "0", "Select a valid choice. risk_score is not one of the available "
                        "choices."),
])
def test_it_refuses_unknown_values(client_for, estate, field, value, message):
    before = snapshot()
    response = post(client_for("analyst"), field=field, value=value,
                    selected=codes(estate, "a-aws", "b-aws"))
    assert flash(response) == [message]
    assert snapshot() == before
    assert events() == []


def test_it_needs_a_selection_or_all_matching(client_for, estate):
    before = snapshot()
    response = post(client_for("analyst"), scope="selected")
    assert flash(response) == ["Select at least one identity, or choose all matching."]
    assert snapshot() == before


def test_it_refuses_a_selected_value_that_is_not_an_identity_code(client_for, estate):
    before = snapshot()
    response = post(client_for("analyst"), selected=[*codes(estate, "a-aws"), "42"])
    assert "A selected row is not a valid identity." in flash(response)
    assert snapshot() == before


def test_it_ignores_selected_codes_that_do_not_exist(client_for, estate):
    response = post(client_for("analyst"),
                    selected=[*codes(estate, "a-aws"), "00000000-0000-0000-0000-000000000000"])
    [message] = flash(response)
    assert message.startswith("Set zone to storage on 1 identit")
    assert fresh(estate, "a-aws").zone == "storage"
    assert len(events()) == 1


# --- who may --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["auditor", "owner"])
@pytest.mark.parametrize("scope", ["selected", "all"])
def test_it_refuses_roles_that_cannot_edit(client_for, estate, role, scope):
    before = snapshot()
    response = post(client_for(role), scope=scope, selected=codes(estate, *estate["rows"]))
    assert response.status_code == 403
    assert snapshot() == before
    assert events() == []


def test_it_refuses_an_owner_even_on_their_own_identity(client_for, estate):
    response = post(client_for("owner"), selected=codes(estate, "e-mine"))
    assert response.status_code == 403
    assert fresh(estate, "e-mine").zone == "compute"


def test_it_keeps_an_owner_out_of_identities_beyond_their_scope(client_for, estate):
    # Out-of-scope rows stay unchanged whichever way an owner asks for them.
    for scope, extra in (("selected", {"selected": codes(estate, "a-aws", "c-vault")}),
                         ("all", {"filter_query": "provider=vault"})):
        response = post(client_for("owner"), scope=scope, field="technical_owner",
                        value="owner@example.test", **extra)
        assert response.status_code == 403
    assert set(Identity.objects.filter(technical_owner__email="owner@example.test")
               .values_list("name", flat=True)) == {"e-mine"}


def test_it_sends_anonymous_visitors_to_login(estate):
    before = snapshot()
    response = post(Client(), selected=codes(estate, "a-aws"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert snapshot() == before


def test_it_does_not_answer_get(client_for, estate):
    assert client_for("analyst").get(BULK).status_code == 405
