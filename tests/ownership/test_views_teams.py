"""Team list and team detail: access, counts, links to the register, query counts."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.filtersets import IdentityFilterSet
from inventory.models import Identity
from ownership.models import Team
from tests.factories import IdentityFactory, PersonFactory, TeamFactory, UserFactory

TEAM_LIST = reverse("ownership:team_list")


def team_url(team) -> str:
    return reverse("ownership:team_detail", args=[team.code])


def register_set(url: str) -> set[int]:
    """The identity ids the register shows for `url`, through the register's own filterset."""
    parts = urlsplit(url)
    assert parts.path == reverse("inventory:identity_list")
    fs = IdentityFilterSet(QueryDict(parts.query), queryset=Identity.objects.all())
    assert fs.is_valid(), fs.errors
    return set(fs.qs.values_list("pk", flat=True))


@pytest.fixture
def estate(db) -> dict:
    """Two teams with a mix of owned, orphaned, owner-left and admin identities."""
    payments, search = TeamFactory(name="Payments"), TeamFactory(name="Search")
    alice = PersonFactory(name="Alice", team=payments)
    bob = PersonFactory(name="Bob", team=payments, is_active=False, left_at=timezone.now())
    carol = PersonFactory(name="Carol", team=search)
    payments.lead = alice
    payments.save()
    make = IdentityFactory
    identities = [
        make(team=payments, technical_owner=alice, business_owner=alice),
        make(team=payments, technical_owner=bob, privilege="admin"),
        make(team=payments, business_owner=carol, backup_owner=bob),
        make(team=payments, privilege="admin"),
        make(team=payments, privilege="write"),
        make(team=payments, backup_owner=alice, status="deprovisioned"),
        make(team=search, technical_owner=carol, business_owner=carol),
        make(team=search),
        make(team=None),
        make(team=None, technical_owner=bob, privilege="admin"),
    ]
    return {"payments": payments, "search": search, "alice": alice, "bob": bob,
            "carol": carol, "identities": identities}


def expected(identities: list, team) -> dict[str, set[int]]:
    """Independently computed sets for one team (None: no team), straight from the objects."""
    mine = [i for i in identities if i.team_id == (team.pk if team else None)]

    def left(person) -> bool:
        return person is not None and not person.is_active

    return {
        "identities": {i.pk for i in mine},
        "orphaned": {i.pk for i in mine if not i.technical_owner and not i.business_owner},
        "owner_left": {
            i.pk for i in mine
            if left(i.technical_owner) or left(i.business_owner) or left(i.backup_owner)
        },
        "admin": {i.pk for i in mine if i.privilege == "admin"},
    }


def query_of(url: str) -> dict[str, list[str]]:
    parts = urlsplit(url)
    assert parts.path == reverse("inventory:identity_list")
    return parse_qs(parts.query)


def row_for(response, team):
    return next(r for r in response.context["rows"] if r.team == team)


# --- access --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["analyst", "auditor", "admin"])
def test_it_shows_teams_to_readers_of_the_whole_register(client_for, estate, role):
    assert client_for(role).get(TEAM_LIST).status_code == 200
    assert client_for(role).get(team_url(estate["payments"])).status_code == 200


def test_it_refuses_owners(client_for, estate):
    assert client_for("owner").get(TEAM_LIST).status_code == 403
    assert client_for("owner").get(team_url(estate["payments"])).status_code == 403


def test_it_refuses_users_without_a_role(db, estate):
    client = Client()
    client.force_login(UserFactory())
    assert client.get(TEAM_LIST).status_code == 403
    assert client.get(team_url(estate["payments"])).status_code == 403


def test_it_sends_anonymous_visitors_to_login(db, estate):
    for url in (TEAM_LIST, team_url(estate["payments"])):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_it_answers_404_for_an_unknown_team(client_for, db):
    url = reverse("ownership:team_detail", args=["00000000-0000-0000-0000-000000000000"])
    assert client_for("analyst").get(url).status_code == 404


# --- team list -----------------------------------------------------------------------


def test_it_counts_each_teams_identities(client_for, estate):
    response = client_for("analyst").get(TEAM_LIST)
    for team in (estate["payments"], estate["search"]):
        row = row_for(response, team)
        want = expected(estate["identities"], team)
        assert row.counts == {name: len(ids) for name, ids in want.items()} | {
            "members": row.counts["members"]
        }
    assert row_for(response, estate["payments"]).counts == {
        "identities": 6, "orphaned": 3, "owner_left": 2, "admin": 2, "members": 1,
    }


def test_it_counts_active_members_and_shows_the_lead(client_for, estate):
    response = client_for("analyst").get(TEAM_LIST)
    payments = row_for(response, estate["payments"])
    assert payments.counts["members"] == 1  # Bob has left
    assert payments.team.members_left == 1
    assert payments.team.lead == estate["alice"]
    assert row_for(response, estate["search"]).counts["members"] == 1


def test_it_links_every_number_to_the_matching_register_filters(client_for, estate):
    response = client_for("analyst").get(TEAM_LIST)
    html = response.content.decode()
    for team in (estate["payments"], estate["search"]):
        links, code = row_for(response, team).links, str(team.code)
        assert query_of(links["identities"]) == {"team": [code]}
        assert query_of(links["orphaned"]) == {"team": [code], "has_owner": ["false"]}
        assert query_of(links["admin"]) == {"team": [code], "privilege": ["admin"]}
        for name in ("identities", "orphaned", "admin"):
            assert f'href="{links[name].replace("&", "&amp;")}"' in html


# Known bug outside this app: the register's `team` filter compares the team *id* with
# the UUID it is given (ModelMultipleChoiceFilter with to_field_name="code" but no
# field_name="team__code"): SQLite overflows, PostgreSQL finds nothing. The links above
# are right; this resolves them through the register. Drop the marker with the fix.
def test_it_links_to_exactly_the_identities_it_counts(client_for, estate):
    response = client_for("analyst").get(TEAM_LIST)
    for team in (estate["payments"], estate["search"]):
        row, want = row_for(response, team), expected(estate["identities"], team)
        for name in ("identities", "orphaned", "admin"):
            assert register_set(row.links[name]) == want[name], name


def test_it_links_owner_left_to_the_team_page_section(client_for, estate):
    response = client_for("analyst").get(TEAM_LIST)
    link = row_for(response, estate["payments"]).links["owner_left"]
    assert link == team_url(estate["payments"]) + "#owner-left"


def test_it_shows_identities_without_a_team_in_their_own_row(client_for, estate):
    response = client_for("analyst").get(TEAM_LIST)
    want = expected(estate["identities"], None)
    assert response.context["no_team"].counts == {k: len(v) for k, v in want.items()}
    assert 'data-row="no-team"' in response.content.decode()


def test_it_totals_the_register_and_links_the_orphans(client_for, estate):
    response = client_for("analyst").get(TEAM_LIST)
    everything = estate["identities"]
    orphans = {i.pk for i in everything if not i.technical_owner and not i.business_owner}
    assert response.context["totals"]["identities"] == len(everything)
    assert response.context["totals"]["orphaned"] == len(orphans)
    assert register_set(response.context["orphaned_url"]) == orphans


def test_it_sorts_by_orphaned_first_by_default(client_for, estate):
    TeamFactory(name="Aardvark")  # no identities at all: sorts last
    names = [r.team.name for r in client_for("analyst").get(TEAM_LIST).context["rows"]]
    assert names[0] == "Payments"
    assert names.index("Search") < names.index("Aardvark")


def test_it_sorts_by_name_on_request(client_for, estate):
    TeamFactory(name="Aardvark")
    rows = client_for("analyst").get(TEAM_LIST, {"sort": "name"}).context["rows"]
    names = [r.team.name for r in rows]
    assert names == sorted(names, key=str.lower)


def test_it_ignores_an_unknown_sort(client_for, estate):
    response = client_for("analyst").get(TEAM_LIST, {"sort": "password"})
    assert response.context["sort"] == "orphaned"


def test_it_searches_teams_by_name_and_lead(client_for, estate):
    by_name = client_for("analyst").get(TEAM_LIST, {"q": "sear"})
    assert [r.team for r in by_name.context["rows"]] == [estate["search"]]
    assert 'data-row="no-team"' not in by_name.content.decode()
    by_lead = client_for("analyst").get(TEAM_LIST, {"q": "alice"})
    assert [r.team for r in by_lead.context["rows"]] == [estate["payments"]]
    assert by_lead.context["totals"]["orphaned"] == 3


def test_it_says_what_to_do_when_the_search_finds_nothing(client_for, estate):
    response = client_for("analyst").get(TEAM_LIST, {"q": "no-such-team"})
    assert "No team matches" in response.content.decode()


def test_it_uses_as_many_queries_for_30_teams_as_for_3(
    client_for, db, django_assert_max_num_queries
):
    client = client_for("analyst")
    lead = PersonFactory()

    def add_teams(n: int) -> None:
        for _ in range(n):
            team = TeamFactory(lead=lead)
            PersonFactory(team=team)
            IdentityFactory(team=team, technical_owner=lead)
            IdentityFactory(team=team, privilege="admin")

    add_teams(3)
    with CaptureQueriesContext(connection) as few:
        assert client.get(TEAM_LIST).status_code == 200
    add_teams(27)
    with django_assert_max_num_queries(len(few)):
        response = client.get(TEAM_LIST)
    assert len(response.context["rows"]) >= 30


# --- team detail ---------------------------------------------------------------------


def test_it_shows_the_team_numbers_with_links(client_for, estate):
    payments = estate["payments"]
    response = client_for("auditor").get(team_url(payments))
    want = expected(estate["identities"], payments)
    assert response.context["counts"] == {k: len(v) for k, v in want.items()}
    links, code = response.context["links"], str(payments.code)
    assert query_of(links["identities"]) == {"team": [code]}
    assert query_of(links["orphaned"]) == {"team": [code], "has_owner": ["false"]}
    assert query_of(links["admin"]) == {"team": [code], "privilege": ["admin"]}
    assert links["owner_left"] is None
    html = response.content.decode()
    assert f'href="/identities/?team={code}" data-testid="all-identities"' in html
    assert 'href="#owner-left"' in html


def test_it_lists_the_orphaned_identities_riskiest_first(client_for, estate):
    payments = estate["payments"]
    response = client_for("analyst").get(team_url(payments))
    orphans = list(response.context["orphans"])
    assert {i.pk for i in orphans} == expected(estate["identities"], payments)["orphaned"]
    assert [i.privilege for i in orphans][:2] == ["admin", "write"]
    assert [i.status for i in orphans][-1] == "deprovisioned"
    html = response.content.decode()
    for identity in orphans:
        assert f'href="{identity.get_absolute_url()}"' in html


def test_it_lists_identities_whose_owner_left(client_for, estate):
    payments = estate["payments"]
    response = client_for("analyst").get(team_url(payments))
    listed = {i.pk for i in response.context["owner_left"]}
    assert listed == expected(estate["identities"], payments)["owner_left"]
    assert 'id="owner-left"' in response.content.decode()


def test_it_lists_members_with_what_they_own_per_role(client_for, estate):
    response = client_for("analyst").get(team_url(estate["payments"]))
    members = {p.name: p for p in response.context["members"]}
    assert set(members) == {"Alice", "Bob"}
    everything = estate["identities"]
    for person in (estate["alice"], estate["bob"]):
        got = members[person.name]
        assert got.technical_count == sum(i.technical_owner == person for i in everything)
        assert got.business_count == sum(i.business_owner == person for i in everything)
        assert got.backup_count == sum(i.backup_owner == person for i in everything)
        assert got.owned_count == sum(person in i.owners for i in everything)
    assert members["Bob"].owned_count == 3
    assert f'href="/identities/?owner={estate["bob"].code}"' in response.content.decode()


def test_it_says_when_a_team_has_nothing_to_fix(client_for, estate):
    quiet = TeamFactory(name="Quiet")
    html = client_for("analyst").get(team_url(quiet)).content.decode()
    assert "Every identity of this team has a technical or business owner" in html
    assert "No identity of this team is owned by someone who has left" in html
    assert "No members yet" in html


def test_it_shows_only_the_first_100_orphans_with_a_link_to_all(client_for, estate):
    team = estate["search"]
    source, env = estate["identities"][0].source, estate["identities"][0].environment
    now = timezone.now()
    Identity.objects.bulk_create(
        Identity(source=source, environment=env, external_id=f"bulk-{n}", provider="aws",
                 kind="iam_user", name=f"bulk-{n:03d}", team=team,
                 last_used_at=now - timedelta(days=n))
        for n in range(120)
    )
    response = client_for("analyst").get(team_url(team))
    assert len(response.context["orphans"]) == 100
    assert response.context["counts"]["orphaned"] == 121
    assert "First 100 of 121" in response.content.decode()


def test_it_keeps_the_team_page_query_count_flat(client_for, estate, django_assert_max_num_queries):
    client, team = client_for("analyst"), estate["payments"]
    with CaptureQueriesContext(connection) as few:
        client.get(team_url(team))
    for n in range(10):
        member = PersonFactory(team=team, is_active=n % 2 == 0)
        IdentityFactory(team=team, technical_owner=member)
        IdentityFactory(team=team, backup_owner=member)
        IdentityFactory(team=team)
    with django_assert_max_num_queries(len(few)):
        assert client.get(team_url(team)).status_code == 200


def test_it_counts_active_and_departed_members_on_the_team_page(client_for, estate):
    response = client_for("analyst").get(team_url(estate["payments"]))
    assert (response.context["members_active"], response.context["members_left"]) == (1, 1)
    assert "active members, 1 left" in response.content.decode()


def test_it_says_how_to_start_when_there_are_no_teams(client_for, db):
    Team.objects.all().delete()
    html = client_for("analyst").get(TEAM_LIST).content.decode()
    assert "No teams yet" in html
