"""People list and person detail: access, per-role counts, links, filters, paging."""

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
from tests.factories import IdentityFactory, PersonFactory, TeamFactory, UserFactory

PEOPLE = reverse("ownership:person_list")


def person_url(person) -> str:
    return reverse("ownership:person_detail", args=[person.code])


def owned(identities: list, person, role: str | None = None) -> set[int]:
    """Ids of identities `person` owns in `role` (any role when None), computed in Python."""
    roles = [role] if role else ["technical", "business", "backup"]
    return {i.pk for i in identities if any(getattr(i, f"{r}_owner") == person for r in roles)}


@pytest.fixture
def estate(db) -> dict:
    """Three people owning identities in different roles; one has left."""
    ops = TeamFactory(name="Ops")
    dana = PersonFactory(name="Dana Ops", email="dana@corp.test", team=ops)
    eve = PersonFactory(name="Eve Left", email="eve@corp.test", team=ops, is_active=False,
                        left_at=timezone.now() - timedelta(days=30))
    finn = PersonFactory(name="Finn Idle", email="finn@corp.test", team=None)
    make = IdentityFactory
    identities = [
        make(technical_owner=dana, business_owner=dana),
        make(technical_owner=dana, backup_owner=eve, privilege="admin"),
        make(business_owner=eve),
        make(technical_owner=eve, business_owner=dana, status="deprovisioned"),
        make(backup_owner=dana, team=ops),
        make(),
    ]
    return {"ops": ops, "dana": dana, "eve": eve, "finn": finn, "identities": identities}


def listed(response) -> dict:
    return {p.name: p for p in response.context["page"].object_list}


# --- access --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["analyst", "auditor", "admin"])
def test_it_shows_people_to_readers_of_the_whole_register(client_for, estate, role):
    assert client_for(role).get(PEOPLE).status_code == 200
    assert client_for(role).get(person_url(estate["dana"])).status_code == 200


def test_it_refuses_owners_even_on_their_own_page(client_for, estate, owner_person):
    assert client_for("owner").get(PEOPLE).status_code == 403
    assert client_for("owner").get(person_url(owner_person)).status_code == 403


def test_it_refuses_users_without_a_role(db, estate):
    client = Client()
    client.force_login(UserFactory())
    assert client.get(PEOPLE).status_code == 403
    assert client.get(person_url(estate["dana"])).status_code == 403


def test_it_sends_anonymous_visitors_to_login(db, estate):
    for url in (PEOPLE, person_url(estate["dana"])):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_it_answers_404_for_an_unknown_person(client_for, db):
    url = reverse("ownership:person_detail", args=["00000000-0000-0000-0000-000000000000"])
    assert client_for("analyst").get(url).status_code == 404


# --- people list ---------------------------------------------------------------------


def test_it_counts_what_each_person_owns_per_role(client_for, estate):
    people, everything = listed(client_for("analyst").get(PEOPLE)), estate["identities"]
    for key in ("dana", "eve", "finn"):
        person, row = estate[key], people[estate[key].name]
        assert row.technical_count == len(owned(everything, person, "technical"))
        assert row.business_count == len(owned(everything, person, "business"))
        assert row.backup_count == len(owned(everything, person, "backup"))
        assert row.owned_count == len(owned(everything, person))
    dana = people["Dana Ops"]
    assert (dana.technical_count, dana.business_count, dana.backup_count) == (2, 2, 1)
    assert dana.owned_count == 4  # one identity holds Dana in two roles


def test_it_links_the_counts_to_the_register_owner_filter(client_for, estate):
    html = client_for("analyst").get(PEOPLE).content.decode()
    for key in ("dana", "eve"):
        href = f'href="/identities/?owner={estate[key].code}"'
        assert html.count(href) == 4  # technical, business, backup, total


def test_it_links_to_exactly_the_identities_a_person_owns(estate):
    url = f"/identities/?owner={estate['dana'].code}"
    fs = IdentityFilterSet(QueryDict(urlsplit(url).query), queryset=Identity.objects.all())
    assert set(fs.qs.values_list("pk", flat=True)) == owned(estate["identities"], estate["dana"])


def test_it_shows_name_email_team_and_status(client_for, estate):
    html = client_for("analyst").get(PEOPLE).content.decode()
    assert "dana@corp.test" in html
    assert f'href="{reverse("ownership:team_detail", args=[estate["ops"].code])}"' in html
    row = html[html.index(f'data-person="{estate["eve"].code}"'):]
    row = row[: row.index("</tr>")]
    assert 'class="badge badge-bad"' in row
    assert ">left</span>" in row


def test_it_searches_by_name_or_email(client_for, estate):
    client = client_for("analyst")
    assert set(listed(client.get(PEOPLE, {"q": "dana"}))) == {"Dana Ops"}
    assert set(listed(client.get(PEOPLE, {"q": "FINN@corp"}))) == {"Finn Idle"}


@pytest.mark.parametrize(
    ("status", "names"),
    [
        ("active", {"Dana Ops", "Finn Idle", "Olive Owner"}),
        ("left", {"Eve Left", "Gus Gone"}),
        ("left_owning", {"Eve Left"}),
        ("", {"Dana Ops", "Eve Left", "Finn Idle", "Olive Owner", "Gus Gone"}),
        ("bogus", {"Dana Ops", "Eve Left", "Finn Idle", "Olive Owner", "Gus Gone"}),
    ],
)
def test_it_filters_active_and_departed_people(client_for, estate, status, names):
    PersonFactory(name="Gus Gone", is_active=False)  # left, owns nothing
    assert set(listed(client_for("analyst").get(PEOPLE, {"status": status}))) == names


def test_it_narrows_to_one_team_and_ignores_a_bad_team_code(client_for, estate):
    client = client_for("analyst")
    ops = client.get(PEOPLE, {"team": str(estate["ops"].code)})
    assert set(listed(ops)) == {"Dana Ops", "Eve Left"}
    assert "Team: Ops" in ops.content.decode()
    assert len(listed(client.get(PEOPLE, {"team": "not-a-uuid"}))) == 4


def test_it_says_what_to_do_when_nobody_matches(client_for, estate):
    html = client_for("analyst").get(PEOPLE, {"q": "zzz-nobody"}).content.decode()
    assert "Nobody matches these filters" in html


def test_it_pages_through_many_people(client_for, estate):
    for n in range(60):
        PersonFactory(name=f"Zed {n:02d}", team=None)
    client = client_for("analyst")
    first, second = client.get(PEOPLE), client.get(PEOPLE, {"page": 2})
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].paginator.count == 64
    assert len(second.context["page"].object_list) == 14
    assert 'href="?page=2"' in first.content.decode()


def test_it_uses_as_many_queries_for_40_people_as_for_4(
    client_for, estate, django_assert_max_num_queries
):
    client = client_for("analyst")
    with CaptureQueriesContext(connection) as few:
        assert client.get(PEOPLE).status_code == 200
    for _ in range(36):
        person = PersonFactory()
        IdentityFactory(technical_owner=person, backup_owner=estate["dana"])
    with django_assert_max_num_queries(len(few)):
        response = client.get(PEOPLE)
    assert len(response.context["page"].object_list) == 40


# --- person detail -------------------------------------------------------------------


def test_it_shows_the_persons_facts_and_counts(client_for, estate):
    response = client_for("auditor").get(person_url(estate["dana"]))
    everything, dana = estate["identities"], estate["dana"]
    assert response.context["counts"] == {
        "technical": len(owned(everything, dana, "technical")),
        "business": len(owned(everything, dana, "business")),
        "backup": len(owned(everything, dana, "backup")),
        "total": len(owned(everything, dana)),
    }
    html = response.content.decode()
    assert "dana@corp.test" in html
    assert f'href="{reverse("ownership:team_detail", args=[estate["ops"].code])}"' in html


def test_it_lists_the_identities_owned_with_their_roles(client_for, estate):
    response = client_for("analyst").get(person_url(estate["dana"]))
    roles = {i.pk: i.roles for i in response.context["identities"]}
    assert set(roles) == owned(estate["identities"], estate["dana"])
    first, second = estate["identities"][0], estate["identities"][1]
    assert roles[first.pk] == ["technical", "business"]
    assert roles[second.pk] == ["technical"]
    assert response.context["identities"][0] == second  # admin first
    html = response.content.decode()
    assert f'href="{first.get_absolute_url()}"' in html
    assert f'href="/identities/?owner={estate["dana"].code}" data-testid="all-identities"' in html


def test_it_warns_when_someone_who_left_still_owns_identities(client_for, estate):
    html = client_for("analyst").get(person_url(estate["eve"])).content.decode()
    assert "Eve Left left on" in html
    assert "still owns 3 identities" in html


def test_it_says_what_to_do_when_a_person_owns_nothing(client_for, estate):
    html = client_for("analyst").get(person_url(estate["finn"])).content.decode()
    assert "Finn Idle owns no identities" in html


def test_it_shows_the_first_100_identities_and_links_to_the_rest(client_for, estate):
    dana, sample = estate["dana"], estate["identities"][0]
    Identity.objects.bulk_create(
        Identity(source=sample.source, environment=sample.environment, external_id=f"b-{n}",
                 provider="aws", kind="iam_user", name=f"bulk-{n:03d}", backup_owner=dana)
        for n in range(110)
    )
    response = client_for("analyst").get(person_url(dana))
    assert len(response.context["identities"]) == 100
    assert response.context["counts"]["total"] == 114
    assert "First 100 of 114" in response.content.decode()


def test_it_keeps_the_person_page_query_count_flat(
    client_for, estate, django_assert_max_num_queries
):
    client, dana = client_for("analyst"), estate["dana"]
    with CaptureQueriesContext(connection) as few:
        client.get(person_url(dana))
    for n in range(20):
        IdentityFactory(technical_owner=dana, team=TeamFactory(), backup_owner=PersonFactory())
        TeamFactory(lead=dana, name=f"Led {n}")
    with django_assert_max_num_queries(len(few)):
        assert client.get(person_url(dana)).status_code == 200


def test_it_builds_register_links_the_register_understands(client_for, estate):
    link = client_for("analyst").get(person_url(estate["eve"])).context["register_url"]
    assert parse_qs(urlsplit(link).query) == {"owner": [str(estate["eve"].code)]}
