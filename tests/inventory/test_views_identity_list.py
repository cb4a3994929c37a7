"""The register list: access and owner scope, every filter, sorting, keyset paging, the
HTMX partial, flat query counts and the bounded count."""

import html as htmllib
import re
from collections import defaultdict
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.filtersets import SORT_FIELDS
from inventory.models import Identity
from tests.factories import (
    EnvironmentFactory,
    IdentityFactory,
    PersonFactory,
    SourceFactory,
    TeamFactory,
    UserFactory,
)

LIST = reverse("inventory:identity_list")
IS_PG = connection.vendor == "postgresql"

ROW_NAME = re.compile(r'<td class="name"><a href="/identities/[0-9a-f-]{36}/">([^<]+)</a>')
COUNT = re.compile(r'data-testid="count">([^<]*)</div>')
NEXT = re.compile(r'rel="next" href="([^"]+)"')
PREV = re.compile(r'rel="prev" href="([^"]+)"')


def names(response) -> list[str]:
    """Identity names in the rendered table, in page order."""
    assert response.status_code == 200
    return ROW_NAME.findall(response.content.decode())


def count_text(response) -> str:
    return COUNT.search(response.content.decode()).group(1).strip()


def link(response, pattern: re.Pattern) -> str | None:
    found = pattern.search(response.content.decode())
    return LIST + htmllib.unescape(found.group(1)) if found else None


@pytest.fixture
def analyze(db):
    """ANALYZE the register as autovacuum would. ANALYZE writes reltuples in place, so the
    estimate survives the test's rollback: the teardown empties the table and analyzes again."""

    def run() -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE inventory_identity")

    yield run
    if connection.vendor == "postgresql":
        Identity.objects.all().delete()
        run()


@pytest.fixture
def estate(users, owner_person) -> dict:
    """Six identities that differ in every filtered column; the owner user owns three
    (one each as technical, business and backup owner)."""
    now = timezone.now()
    ops, data = TeamFactory(name="Ops", slug="ops"), TeamFactory(name="Data", slug="data")
    alice = PersonFactory(name="Alice Ops", email="alice@corp.test", team=ops)
    bob = PersonFactory(name="Bob Data", email="bob@corp.test", team=data)
    prod = EnvironmentFactory(slug="production")
    staging = EnvironmentFactory(slug="staging")
    vault = SourceFactory(name="vault-main", kind="vault")
    make = IdentityFactory
    rows = {
        "alpha-deployer": make(
            name="alpha-deployer", path="/ci/alpha-deployer", purpose="Deploys the billing API",
            kind="iam_user", provider="aws", zone="compute", privilege="admin",
            technical_owner=alice, team=ops, environment=prod, risk_score=80,
            expires_at=now + timedelta(days=10), last_used_at=now - timedelta(days=3),
            last_rotated_at=now - timedelta(days=400), created_at_source=now - timedelta(days=900),
        ),
        "bravo-reader": make(
            name="bravo-reader", kind="k8s_service_account", provider="kubernetes",
            zone="storage", privilege="read", status="disabled", business_owner=bob, team=data,
            environment=staging, auth_method="short_lived_token", interactive_login=True,
            expires_at=now + timedelta(days=60), last_used_at=now - timedelta(days=200),
            risk_score=20, created_at_source=now - timedelta(days=10),
        ),
        "charlie-token": make(
            name="charlie-token", source=vault, kind="vault_token", provider="vault",
            zone="management", privilege="write", status="missing", environment=None,
            auth_method="certificate", expires_at=now - timedelta(days=5), last_used_at=None,
            risk_score=95, last_rotated_at=now - timedelta(days=2),
        ),
        "delta-owned": make(
            name="delta-owned", kind="api_key", provider="github", zone="access",
            privilege="unknown", technical_owner=owner_person, auth_method="workload_federation",
            last_used_at=now - timedelta(days=1), risk_score=5,
            created_at_source=now - timedelta(days=50),
        ),
        "echo-backup": make(
            name="echo-backup", kind="ssh_key", provider="other", zone="", privilege="read",
            backup_owner=owner_person, risk_score=60,
        ),
        "foxtrot-business": make(
            name="foxtrot-business", kind="oauth_client", provider="saas", zone="compute",
            privilege="read", business_owner=owner_person, risk_score=40,
            last_rotated_at=now - timedelta(days=30),
        ),
    }
    return {"rows": rows, "ops": ops, "data": data, "alice": alice, "bob": bob,
            "vault": vault, "owner": owner_person}


ALL_SIX = {"alpha-deployer", "bravo-reader", "charlie-token", "delta-owned", "echo-backup",
           "foxtrot-business"}
OWNED = {"delta-owned", "echo-backup", "foxtrot-business"}


# --- access and owner scope ----------------------------------------------------------


def test_it_sends_anonymous_visitors_to_login(db):
    response = Client().get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("role", ["admin", "analyst", "auditor", "owner"])
def test_it_shows_the_register_to_every_role(client_for, estate, role):
    response = client_for(role).get(LIST)
    assert response.status_code == 200
    assert set(names(response)) == (OWNED if role == "owner" else ALL_SIX)


def test_it_refuses_users_without_a_role(db):
    client = Client()
    client.force_login(UserFactory())
    assert client.get(LIST).status_code == 403


def test_it_shows_readers_everything_with_an_exact_count(client_for, estate):
    response = client_for("analyst").get(LIST)
    assert count_text(response) == "6 identities"


def test_it_shows_owners_only_what_they_own_in_any_role(client_for, estate):
    response = client_for("owner").get(LIST)
    assert set(names(response)) == OWNED
    assert count_text(response) == "3 identities"
    assert "that you own" in response.content.decode()


def test_it_keeps_owners_in_scope_whatever_they_filter(client_for, estate):
    client = client_for("owner")
    assert names(client.get(LIST, {"owner": estate["alice"].code})) == []
    assert names(client.get(LIST, {"q": "alpha"})) == []
    assert names(client.get(LIST, {"privilege": "read"})) == ["echo-backup", "foxtrot-business"]


def test_it_counts_one_identity_in_the_singular(client_for, estate):
    response = client_for("analyst").get(LIST, {"q": "bravo"})
    assert count_text(response) == "1 identity"


# --- filters -------------------------------------------------------------------------


def filter_cases(e: dict) -> dict[str, tuple[dict, set]]:
    """Case id -> (query parameters, names the analyst must see)."""
    today = timezone.now().date()
    return {
        "q-purpose": ({"q": "BILLING"}, {"alpha-deployer"}),  # any case
        "q-path": ({"q": "/ci/"}, {"alpha-deployer"}),
        "q-name": ({"q": "charlie"}, {"charlie-token"}),
        "q-tech-name": ({"q": "Alice Ops"}, {"alpha-deployer"}),
        "q-tech-email": ({"q": "alice@corp"}, {"alpha-deployer"}),
        "q-business-name": ({"q": "bob data"}, {"bravo-reader"}),
        "q-business-email": ({"q": "bob@corp.test"}, {"bravo-reader"}),
        "q-spaces": ({"q": "  reader  "}, {"bravo-reader"}),
        "kind": ({"kind": "k8s_service_account"}, {"bravo-reader"}),
        "kind-multi": ({"kind": ["iam_user", "vault_token"]}, {"alpha-deployer", "charlie-token"}),
        "provider": ({"provider": "vault"}, {"charlie-token"}),
        "provider-multi": ({"provider": ["github", "saas"]}, {"delta-owned", "foxtrot-business"}),
        "source": ({"source": str(e["vault"].code)}, {"charlie-token"}),
        "environment": ({"environment": "staging"}, {"bravo-reader"}),
        "environment-prod": ({"environment": "production"},
                             {"alpha-deployer", "delta-owned", "echo-backup", "foxtrot-business"}),
        "zone": ({"zone": "compute"}, {"alpha-deployer", "foxtrot-business"}),
        "zone-multi": ({"zone": ["access", "management"]}, {"charlie-token", "delta-owned"}),
        "status": ({"status": "disabled"}, {"bravo-reader"}),
        "status-multi": ({"status": ["missing", "disabled"]}, {"bravo-reader", "charlie-token"}),
        "privilege": ({"privilege": "read"}, {"bravo-reader", "echo-backup", "foxtrot-business"}),
        "privilege-admin": ({"privilege": "admin"}, {"alpha-deployer"}),
        "owner": ({"owner": str(e["alice"].code)}, {"alpha-deployer"}),
        "owner-any-role": ({"owner": str(e["owner"].code)}, OWNED),  # tech, business, backup
        "team": ({"team": str(e["ops"].code)}, {"alpha-deployer"}),
        "team-multi": ({"team": [str(e["ops"].code), str(e["data"].code)]},
                       {"alpha-deployer", "bravo-reader"}),
        "has-owner-true": ({"has_owner": "true"},
                           {"alpha-deployer", "bravo-reader", "delta-owned", "foxtrot-business"}),
        # A backup owner alone does not count as an owner.
        "has-owner-false": ({"has_owner": "false"}, {"charlie-token", "echo-backup"}),
        # Already expired counts as "expires within" any number of days.
        "expires-30": ({"expires_within": "30"}, {"alpha-deployer", "charlie-token"}),
        "expires-90": ({"expires_within": "90"},
                       {"alpha-deployer", "bravo-reader", "charlie-token"}),
        "expires-0": ({"expires_within": "0"}, {"charlie-token"}),
        # Never used counts as used before any date.
        "last-used-30": ({"last_used_before": (today - timedelta(days=30)).isoformat()},
                         {"bravo-reader", "charlie-token"}),
        "last-used-365": ({"last_used_before": (today - timedelta(days=365)).isoformat()},
                          {"charlie-token"}),
        "interactive-true": ({"interactive_login": "true"}, {"bravo-reader"}),
        "interactive-false": ({"interactive_login": "false"}, ALL_SIX - {"bravo-reader"}),
        "auth-method": ({"auth_method": "short_lived_token"}, {"bravo-reader"}),
        "auth-method-multi": ({"auth_method": ["certificate", "workload_federation"]},
                              {"charlie-token", "delta-owned"}),
        "combined": ({"provider": "aws", "privilege": "admin", "zone": "compute"},
                     {"alpha-deployer"}),
        "combined-none": ({"provider": "aws", "zone": "storage"}, set()),
    }


# Case ids at collection time; the codes only exist once the estate fixture has run.
CASE_IDS = list(filter_cases(defaultdict(lambda: SimpleNamespace(code=""))))


@pytest.mark.parametrize("case", CASE_IDS)
def test_it_filters(client_for, estate, case):
    params, expected = filter_cases(estate)[case]
    response = client_for("analyst").get(LIST, params)
    assert set(names(response)) == expected
    assert count_text(response) == (
        f"{len(expected)} identit{'y' if len(expected) == 1 else 'ies'}"
    )
    body = response.content.decode()
    assert "msg-error" not in body
    if not expected:
        assert "No identities match these filters." in body


def test_it_shows_the_filters_in_force_as_chips(client_for, estate):
    body = client_for("analyst").get(LIST, {"kind": "vault_token", "q": "char"}).content.decode()
    assert '<span class="chip">Search: char</span>' in body
    assert '<span class="chip">Kind: Vault token</span>' in body


def test_it_treats_empty_parameters_as_any(client_for, estate):
    params = {key: "" for key in (
        "q", "kind", "provider", "source", "environment", "zone", "status", "privilege",
        "owner", "team", "has_owner", "expires_within", "last_used_before",
        "interactive_login", "auth_method",
    )}
    response = client_for("analyst").get(LIST, params)
    assert set(names(response)) == ALL_SIX
    assert "msg-error" not in response.content.decode()
    assert '<span class="chip">' not in response.content.decode()


def test_it_ignores_an_empty_value_beside_a_real_one(client_for, estate):
    response = client_for("analyst").get(LIST + "?kind=&kind=vault_token")
    assert names(response) == ["charlie-token"]


INVALID = [
    ({"expires_within": "abc"}, "expires_within", "Enter a number."),
    ({"expires_within": "-1"}, "expires_within", "greater than or equal to 0"),
    ({"last_used_before": "yesterday"}, "last_used_before", "Enter a valid date."),
    ({"kind": "robot"}, "kind", "Select a valid choice."),
    ({"source": "not-a-uuid"}, "source", "is not a valid UUID."),
    ({"environment": "moon"}, "environment", "Select a valid choice."),
    ({"owner": "00000000-0000-0000-0000-000000000000"}, "owner", "Select a valid choice."),
    ({"team": "00000000-0000-0000-0000-000000000000"}, "team", "Select a valid choice."),
]


@pytest.mark.parametrize("params,field,message", INVALID, ids=[i[1] + "-" + list(i[0].values())[0]
                                                                 for i in INVALID])
def test_it_reports_an_invalid_filter_and_shows_no_rows(client_for, estate, params, field,
                                                        message):
    response = client_for("analyst").get(LIST, params)
    assert response.status_code == 200
    body = response.content.decode()
    assert names(response) == []
    error = re.search(r'<div class="msg msg-error">(.*?)</div>\n', body, re.S).group(1)
    assert f"<strong>{field}</strong>" in error
    assert message in htmllib.unescape(error)
    assert count_text(response) == "0 identities"


def test_it_reports_an_absurd_expires_within_as_an_error_not_a_500(client_for, estate):
    client = client_for("analyst")
    client.raise_request_exception = False
    response = client.get(LIST, {"expires_within": "100000000"})
    assert response.status_code == 200
    assert names(response) == [] or set(names(response)) == {
        "alpha-deployer", "bravo-reader", "charlie-token"}


# --- sorting -------------------------------------------------------------------------


def python_order(rows: list, sort: str) -> list[str]:
    """The register's order computed in Python: (value, id), NULLs last either way."""
    desc, field = sort.startswith("-"), sort.lstrip("-")
    present = sorted((r for r in rows if getattr(r, field) is not None),
                     key=lambda r: (getattr(r, field), r.pk), reverse=desc)
    missing = sorted((r for r in rows if getattr(r, field) is None),
                     key=lambda r: r.pk, reverse=desc)
    return [r.name for r in present + missing]


@pytest.mark.parametrize("sort", SORT_FIELDS + ["-" + f for f in SORT_FIELDS])
def test_it_sorts_by_every_sortable_field(client_for, estate, sort):
    rows = list(Identity.objects.all())
    response = client_for("analyst").get(LIST, {"sort": sort})
    assert names(response) == python_order(rows, sort)
    assert response.context["sort"] == sort


@pytest.mark.parametrize("sort,first,last", [
    ("name", "alpha-deployer", "foxtrot-business"),
    ("-name", "foxtrot-business", "alpha-deployer"),
    ("expires_at", "charlie-token", None),  # expired first; no expiry last
    ("-expires_at", "bravo-reader", None),
    ("last_used_at", "bravo-reader", "charlie-token"),  # never used last
    ("-last_used_at", "delta-owned", "charlie-token"),
    ("-risk_score", "charlie-token", "delta-owned"),
])
def test_it_puts_the_right_row_first(client_for, estate, sort, first, last):
    shown = names(client_for("analyst").get(LIST, {"sort": sort}))
    assert shown[0] == first
    if last:
        assert shown[-1] == last


def test_it_marks_the_sorted_column_and_links_the_reverse_order(client_for, estate):
    body = client_for("analyst").get(LIST, {"sort": "-last_used_at"}).content.decode()
    assert 'href="?sort=last_used_at" aria-sort="descending">Last used ▼</a>' in body
    body = client_for("analyst").get(LIST, {"sort": "zone"}).content.decode()
    assert 'href="?sort=-zone" aria-sort="ascending">Zone ▲</a>' in body


@pytest.mark.parametrize("sort", ["password", "-nope", "technical_owner__email", ""])
def test_it_falls_back_to_name_for_an_unknown_sort(client_for, estate, sort):
    response = client_for("analyst").get(LIST, {"sort": sort})
    assert response.context["sort"] == "name"
    assert names(response) == sorted(ALL_SIX)


# --- keyset paging -------------------------------------------------------------------


def walk(client, url: str) -> tuple[list[list[str]], str]:
    """Follow rel=next links from `url`; returns each page's names and the last page URL."""
    pages, last = [], url
    for _ in range(20):
        response = client.get(url)
        pages.append(names(response))
        last, url = url, link(response, NEXT)
        if url is None:
            return pages, last
    raise AssertionError("next links never ended")


def walk_back(client, url: str) -> list[list[str]]:
    pages = []
    url = link(client.get(url), PREV)
    for _ in range(20):
        if url is None:
            return pages
        response = client.get(url)
        pages.append(names(response))
        url = link(response, PREV)
    raise AssertionError("prev links never ended")


@pytest.fixture
def many(db, settings) -> list:
    """130 identities; a third never used and a third without expiry, scattered by id."""
    settings.REGISTER_PAGE_SIZE = 50
    now = timezone.now().replace(microsecond=0)
    return [
        IdentityFactory(
            name=f"id-{(n * 37) % 130:03d}",
            last_used_at=None if n % 3 == 0 else now - timedelta(hours=n % 17),  # ties too
            expires_at=None if n % 3 == 1 else now + timedelta(days=n % 11),
            provider="aws" if n % 2 else "vault",
        )
        for n in range(130)
    ]


def test_it_walks_every_identity_once_forward_and_back(client_for, users, many):
    client = client_for("analyst")
    pages, last = walk(client, LIST)
    assert [len(p) for p in pages] == [50, 50, 30]
    seen = [n for p in pages for n in p]
    assert seen == sorted(i.name for i in many)  # every one, once, in order
    assert walk_back(client, last) == pages[:-1][::-1]


def test_it_shows_no_previous_link_on_the_first_page(client_for, users, many):
    body = client_for("analyst").get(LIST).content.decode()
    assert 'rel="next"' in body and 'rel="prev"' not in body


@pytest.mark.parametrize("sort", ["last_used_at", "-last_used_at", "expires_at", "-expires_at"])
def test_it_pages_nullable_columns_with_every_row_once(client_for, users, many, sort):
    client = client_for("analyst")
    pages, last = walk(client, f"{LIST}?sort={sort}")
    seen = [n for p in pages for n in p]
    assert len(seen) == 130 and set(seen) == {i.name for i in many}
    assert seen == python_order(many, sort)
    assert walk_back(client, last) == pages[:-1][::-1]


def test_it_keeps_filters_and_sort_in_the_paging_links(client_for, users, many):
    client = client_for("analyst")
    pages, last = walk(client, f"{LIST}?provider=aws&sort=-name")
    assert "provider=aws" in last and "sort=-name" in last
    aws = sorted((i.name for i in many if i.provider == "aws"), reverse=True)
    assert [n for p in pages for n in p] == aws
    assert [len(p) for p in pages] == [50, 15]


def test_it_shows_the_first_page_for_a_garbled_cursor(client_for, users, many):
    response = client_for("analyst").get(LIST, {"after": "%%%garbage"})
    assert names(response) == sorted(i.name for i in many)[:50]


def test_it_shows_the_first_page_for_a_garbled_before_cursor(client_for, users, many):
    response = client_for("analyst").get(LIST, {"before": "%%%garbage"})
    assert names(response) == sorted(i.name for i in many)[:50]


# --- HTMX partial --------------------------------------------------------------------


def test_it_returns_only_the_results_to_htmx(client_for, estate):
    client = client_for("analyst")
    partial = client.get(LIST, {"kind": "vault_token"}, headers={"HX-Target": "results"})
    body = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in body and 'id="filter-form"' not in body
    assert 'data-testid="register"' in body
    assert names(partial) == ["charlie-token"]
    full = client.get(LIST, {"kind": "vault_token"}).content.decode()
    assert full.startswith("<!doctype html>") and 'id="filter-form"' in full


def test_it_returns_the_full_page_for_other_htmx_targets(client_for, estate):
    body = client_for("analyst").get(LIST, headers={"HX-Target": "main"}).content.decode()
    assert "<html" in body


# --- query counts --------------------------------------------------------------------


def populate(n: int) -> None:
    """n identities, each with its own owners, team and environment (N+1 bait)."""
    for i in range(n):
        team = TeamFactory()
        IdentityFactory(
            technical_owner=PersonFactory(team=team), business_owner=PersonFactory(team=team),
            backup_owner=PersonFactory(team=team), team=team,
            environment=EnvironmentFactory(slug=f"env-{Identity.objects.count()}-{i}"),
            source=SourceFactory(name=f"src-{Identity.objects.count()}-{i}"),
        )


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["analyst", "owner"])
def test_it_uses_as_many_queries_for_60_rows_as_for_5(client_for, users, role, owner_person):
    client = client_for(role)
    populate(5)
    if role == "owner":
        Identity.objects.update(business_owner=owner_person)
    small = queries_for(client, LIST)
    assert len(names(client.get(LIST))) == 5
    populate(55)
    if role == "owner":
        Identity.objects.update(business_owner=owner_person)
    # Same number of sources, environments and teams would not prove anything; these grew.
    large = queries_for(client, LIST)
    assert len(names(client.get(LIST))) == 50
    assert large == small


def test_it_keeps_the_list_under_a_fixed_query_budget(
    client_for, users, django_assert_max_num_queries
):
    populate(30)
    client = client_for("analyst")
    with django_assert_max_num_queries(12):
        response = client.get(LIST, {"provider": "aws", "sort": "-last_used_at"})
    assert len(names(response)) == 30


# --- bounded count -------------------------------------------------------------------


def test_it_says_more_than_the_cap_for_a_big_filtered_result(client_for, users, many, settings):
    settings.REGISTER_COUNT_CAP = 100
    response = client_for("analyst").get(LIST, {"q": "id-"})
    assert count_text(response) == "More than 100 identities"
    assert "to all 100+ matching rows" in response.content.decode()
    small = client_for("analyst").get(LIST, {"provider": "aws"})
    assert count_text(small) == "65 identities"


def test_it_counts_only_the_owners_identities_on_a_large_table(client_for, many, settings,
                                                              owner_person, analyze):
    settings.REGISTER_COUNT_CAP = 100
    Identity.objects.filter(name__in=["id-000", "id-001", "id-002"]).update(
        technical_owner=owner_person)
    analyze()
    response = client_for("owner").get(LIST)
    assert names(response) == ["id-000", "id-001", "id-002"]
    assert count_text(response) == "3 identities"


def test_it_counts_zero_for_an_invalid_filter_on_a_large_table(client_for, many, settings,
                                                               analyze):
    settings.REGISTER_COUNT_CAP = 100
    analyze()
    response = client_for("analyst").get(LIST, {"expires_within": "abc"})
    assert names(response) == []
    assert count_text(response) == "0 identities"
