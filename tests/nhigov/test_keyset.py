"""nhigov.lib.keyset: keyset pages (both directions, both orders, NULLs) and bounded counts."""

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Identity
from nhigov.lib.keyset import bounded_count, paginate
from tests.factories import IdentityFactory

pytestmark = pytest.mark.django_db

# Lower-case ASCII only, so every database collation sorts them as Python does.
NAMES = ["delta", "alpha", "echo", "bravo", "alpha", "foxtrot", "charlie", "bravo", "golf"]


def expected(rows: list, sort: str) -> list[int]:
    """Page order computed in Python: (value, id), NULLs last in both directions."""
    desc, field = sort.startswith("-"), sort.lstrip("-")
    present = [r for r in rows if getattr(r, field) is not None]
    missing = [r for r in rows if getattr(r, field) is None]
    present.sort(key=lambda r: (getattr(r, field), r.pk), reverse=desc)
    missing.sort(key=lambda r: r.pk, reverse=desc)
    return [r.pk for r in present + missing]


def walk_forward(sort: str, size: int) -> tuple[list[list[int]], list]:
    """Follow next cursors from the first page; returns page ids and the pages."""
    qs, pages, after = Identity.objects.all(), [], ""
    for _ in range(100):
        page = paginate(qs, sort, size, after=after)
        pages.append(page)
        if not page.next_cursor:
            break
        after = page.next_cursor
    return [[r.pk for r in p.rows] for p in pages], pages


def walk_backward(sort: str, size: int, last) -> list[list[int]]:
    """Follow prev cursors from `last` back to the first page."""
    qs, ids, page = Identity.objects.all(), [], last
    for _ in range(100):
        if not page.prev_cursor:
            break
        page = paginate(qs, sort, size, before=page.prev_cursor)
        ids.append([r.pk for r in page.rows])
    return ids


def cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


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
def named() -> list:
    return [IdentityFactory(name=n) for n in NAMES]


@pytest.fixture
def sparse() -> list:
    """last_used_at with NULLs spread through the id order, and a tie on one value."""
    now = timezone.now().replace(microsecond=0)
    offsets = [5, None, 2, 9, None, 2, None, 7, 1, None, 2]
    return [
        IdentityFactory(last_used_at=None if d is None else now - timedelta(days=d))
        for d in offsets
    ]


# --- forward and backward --------------------------------------------------------------


@pytest.mark.parametrize("sort", ["name", "-name"])
def test_it_pages_forward_through_every_row_once_in_order(named, sort):
    pages, walked = walk_forward(sort, 4)
    assert [len(p) for p in pages] == [4, 4, 1]
    assert [pk for p in pages for pk in p] == expected(named, sort)
    assert walked[0].prev_cursor is None
    assert walked[1].prev_cursor and walked[2].prev_cursor
    assert walked[-1].next_cursor is None


def test_it_breaks_ties_on_id(named):
    rows = paginate(Identity.objects.all(), "name", 3).rows
    alphas = [i for i in named if i.name == "alpha"]
    assert [r.pk for r in rows[:2]] == [alphas[0].pk, alphas[1].pk]
    assert rows[2].name == "bravo"


@pytest.mark.parametrize("sort", ["name", "-name"])
def test_it_pages_backward_to_the_same_pages(named, sort):
    pages, walked = walk_forward(sort, 4)
    back = walk_backward(sort, 4, walked[-1])
    assert back == pages[:-1][::-1]
    first = paginate(Identity.objects.all(), sort, 4, before=walked[1].prev_cursor)
    assert first.prev_cursor is None  # back at the start
    assert first.next_cursor  # and can go forward again


def test_it_says_when_a_page_is_the_last(named):
    page = paginate(Identity.objects.all(), "name", len(NAMES))
    assert len(page.rows) == len(NAMES)
    assert page.next_cursor is None and page.prev_cursor is None


def test_it_returns_an_empty_page_for_an_empty_queryset(named):
    page = paginate(Identity.objects.none(), "name", 4)
    assert page.rows == [] and page.next_cursor is None and page.prev_cursor is None


def test_it_pages_a_filtered_queryset(named):
    qs = Identity.objects.filter(name__in=["alpha", "bravo", "golf"])
    page = paginate(qs, "-name", 2)
    assert [r.name for r in page.rows] == ["golf", "bravo"]
    rest = paginate(qs, "-name", 2, after=page.next_cursor)
    assert [r.name for r in rest.rows] == ["bravo", "alpha"]
    last = paginate(qs, "-name", 2, after=rest.next_cursor)
    assert [r.name for r in last.rows] == ["alpha"] and last.next_cursor is None
    assert [r.pk for r in page.rows + rest.rows + last.rows] == expected(list(qs), "-name")


def test_it_reads_one_query_per_page(named):
    after = paginate(Identity.objects.all(), "name", 4).next_cursor
    with CaptureQueriesContext(connection) as ctx:
        page = paginate(Identity.objects.all(), "name", 4, after=after)
    assert len(page.rows) == 4
    assert len(ctx.captured_queries) == 1


# --- NULLs -----------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["last_used_at", "-last_used_at"])
@pytest.mark.parametrize("size", [1, 3, 4, 11])
def test_it_pages_a_nullable_column_with_nulls_last(sparse, sort, size):
    pages, walked = walk_forward(sort, size)
    flat = [pk for p in pages for pk in p]
    assert flat == expected(sparse, sort)
    assert len(flat) == len(set(flat)) == len(sparse)
    nulls = {i.pk for i in sparse if i.last_used_at is None}
    assert set(flat[-len(nulls):]) == nulls  # NULLs last in both directions
    back = walk_backward(sort, size, walked[-1])
    assert back == pages[:-1][::-1]


def test_it_crosses_from_values_into_nulls_and_back(sparse):
    size = len([i for i in sparse if i.last_used_at is not None])  # page 1 ends at the last value
    first = paginate(Identity.objects.all(), "last_used_at", size)
    assert all(r.last_used_at is not None for r in first.rows)
    second = paginate(Identity.objects.all(), "last_used_at", size, after=first.next_cursor)
    assert second.rows and all(r.last_used_at is None for r in second.rows)
    back = paginate(Identity.objects.all(), "last_used_at", size, before=second.prev_cursor)
    assert [r.pk for r in back.rows] == [r.pk for r in first.rows]


# --- cursors ---------------------------------------------------------------------------


BAD_CURSORS = [
    "not-base64-!!!",
    cursor("just a string"),
    cursor([1, 2, 3]),
    cursor(["alpha", "not-an-id"]),
    cursor({"value": "alpha"}),
    base64.urlsafe_b64encode(b"\xff\xfe garbage").decode(),
]


@pytest.mark.parametrize("bad", BAD_CURSORS)
def test_it_treats_a_malformed_after_cursor_as_the_first_page(named, bad):
    page = paginate(Identity.objects.all(), "name", 4, after=bad)
    assert [r.pk for r in page.rows] == expected(named, "name")[:4]
    assert page.prev_cursor is None


def test_it_treats_an_unparseable_date_in_a_cursor_as_the_first_page(sparse):
    page = paginate(Identity.objects.all(), "last_used_at", 3, after=cursor(["yesterday", 5]))
    assert [r.pk for r in page.rows] == expected(sparse, "last_used_at")[:3]


def test_it_treats_a_malformed_before_cursor_as_the_first_page(named):
    page = paginate(Identity.objects.all(), "name", 4, before="not-base64-!!!")
    assert [r.pk for r in page.rows] == expected(named, "name")[:4]
    assert page.prev_cursor is None


def test_it_treats_a_cursor_holding_a_nul_character_as_the_first_page(named):
    page = paginate(Identity.objects.all(), "name", 4, after=cursor(["a\u0000", 1]))
    assert [r.pk for r in page.rows] == expected(named, "name")[:4]


def test_it_round_trips_datetime_cursors(sparse):
    first = paginate(Identity.objects.all(), "-last_used_at", 2)
    second = paginate(Identity.objects.all(), "-last_used_at", 2, after=first.next_cursor)
    assert [r.pk for r in first.rows + second.rows] == expected(sparse, "-last_used_at")[:4]


# --- bounded_count ---------------------------------------------------------------------


def test_it_counts_exactly_up_to_the_cap(named):
    assert bounded_count(Identity.objects.all(), 100, True) == (len(NAMES), True)
    assert bounded_count(Identity.objects.filter(name="alpha"), 100, True) == (2, True)
    assert bounded_count(Identity.objects.all(), len(NAMES), True) == (len(NAMES), True)


def test_it_stops_counting_past_the_cap(named):
    assert bounded_count(Identity.objects.all(), 5, True) == (5, False)
    with CaptureQueriesContext(connection) as ctx:
        bounded_count(Identity.objects.all(), 5, True)
    sql = ctx.captured_queries[-1]["sql"].upper()
    assert "COUNT" in sql and "LIMIT 6" in sql  # never a full COUNT(*)
    assert "ORDER BY" not in sql


def test_it_counts_an_empty_queryset_as_zero(db):
    assert bounded_count(Identity.objects.none(), 100, True) == (0, True)
    assert bounded_count(Identity.objects.all(), 100, False) == (0, True)


def test_it_counts_small_unfiltered_tables_exactly(named):
    # reltuples is below the cap (or unknown) here, so both databases count exactly.
    assert bounded_count(Identity.objects.all(), 100, False) == (len(NAMES), True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner estimate is PostgreSQL")
def test_it_uses_the_planner_estimate_for_a_large_unfiltered_table(named, analyze):
    IdentityFactory.create_batch(20)
    analyze()
    count, exact = bounded_count(Identity.objects.all(), 10, False)
    assert (count, exact) == (len(NAMES) + 20, False)
    # A filtered queryset never uses the estimate.
    assert bounded_count(Identity.objects.filter(name="alpha"), 10, True) == (2, True)

