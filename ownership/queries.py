"""Who owns what: set-based counts for the people and teams pages.

Each identity set the pages count is defined once here, with the register filters that
show exactly that set, so a number and the page it links to can never disagree. Every
count is one grouped aggregate or a correlated subquery: the number of queries a page
runs does not grow with the number of teams or people on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.urls import reverse

from inventory.choices import IdentityStatus, Privilege
from inventory.models import Identity
from ownership.models import Person, Team

NO_OWNER = Q(technical_owner__isnull=True, business_owner__isnull=True)
# A semi-join on the (few) departed people: about twice as fast on PostgreSQL as joining
# the person table three times over every identity.
_DEPARTED = Subquery(Person.objects.filter(is_active=False).order_by().values("pk"))
OWNER_LEFT = (
    Q(technical_owner__in=_DEPARTED)
    | Q(business_owner__in=_DEPARTED)
    | Q(backup_owner__in=_DEPARTED)
)
ROLES = ("technical", "business", "backup")


@dataclass(frozen=True)
class IdentitySet:
    """A named set of identities: its condition, and the register filters showing exactly it
    (None when the register has no filter for it; the page links to its own section)."""

    condition: Q
    register_params: dict[str, str] | None


SETS: dict[str, IdentitySet] = {
    "identities": IdentitySet(Q(), {}),
    "orphaned": IdentitySet(NO_OWNER, {"has_owner": "false"}),
    "owner_left": IdentitySet(OWNER_LEFT, None),
    "admin": IdentitySet(Q(privilege=Privilege.ADMIN), {"privilege": Privilege.ADMIN}),
}


def register_url(**filters: str) -> str:
    """The register page narrowed by `filters` (the register's own filter names)."""
    query = urlencode(filters)
    return reverse("inventory:identity_list") + (f"?{query}" if query else "")


def set_url(name: str, **filters: str) -> str | None:
    """Register link for one of SETS within `filters`, or None if the register cannot show it."""
    params = SETS[name].register_params
    return None if params is None else register_url(**filters, **params)


def _count(queryset: QuerySet) -> Subquery:
    # COUNT as a plain function, not an aggregate, so Django adds no GROUP BY and the
    # subquery always returns exactly one row (0 when nothing matches).
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(counted, output_field=IntegerField())


def set_counts() -> dict[str, Count]:
    """Count(filter=...) aggregates for every set in SETS, for aggregate/annotate."""
    return {name: Count("pk", filter=s.condition) for name, s in SETS.items()}


def riskiest_first() -> list:
    """Order for identity tables: deprovisioned last, then admin, write, unknown, read."""
    order = [Privilege.ADMIN, Privilege.WRITE, Privilege.UNKNOWN, Privilege.READ]
    privilege = Case(
        *(When(privilege=p, then=Value(i)) for i, p in enumerate(order)),
        default=Value(len(order)),
        output_field=IntegerField(),
    )
    gone = Case(
        When(status=IdentityStatus.DEPROVISIONED, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return [gone, privilege, "name", "id"]


# --- teams -------------------------------------------------------------------------------


@dataclass
class TeamRow:
    """One line of the team list: a team (None for identities without a team) and counts."""

    team: Team | None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SETS, 0))
    links: dict[str, str | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.team.name if self.team else ""


# Sort keys of the team list; numbers sort largest first, ties by name.
TEAM_SORTS = ("orphaned", "owner_left", "admin", "identities", "members", "name")


def counts_by_team(teams: QuerySet | None = None) -> dict[int | None, dict[str, int]]:
    """Identity counts per team id (None: no team), in one grouped query."""
    identities = Identity.objects.all()
    if teams is not None:
        identities = identities.filter(team__in=teams.values("pk"))
    rows = identities.order_by().values("team").annotate(**set_counts())
    return {row.pop("team"): row for row in rows}


def teams_with_members(search: str = "") -> QuerySet:
    """Teams (with lead) annotated with active and departed member counts."""
    teams = Team.objects.select_related("lead").annotate(
        members_active=_count(Person.objects.filter(team=OuterRef("pk"), is_active=True)),
        members_left=_count(Person.objects.filter(team=OuterRef("pk"), is_active=False)),
    )
    search = search.strip()
    if search:
        teams = teams.filter(
            Q(name__icontains=search) | Q(slug__icontains=search) | Q(lead__name__icontains=search)
        )
    return teams


@dataclass
class TeamTable:
    """The team list: one row per team, and the bucket of identities without a team
    (None while searching, since a search matches teams)."""

    rows: list[TeamRow]
    no_team: TeamRow | None


def team_table(search: str = "", sort: str = "orphaned") -> TeamTable:
    """Every team matching `search` with its counts and register links, sorted by `sort`."""
    search = search.strip()
    teams = teams_with_members(search)
    counts = counts_by_team(teams if search else None)
    rows = []
    for team in teams:
        row = TeamRow(team, counts.get(team.pk, dict.fromkeys(SETS, 0)))
        row.counts["members"] = team.members_active
        row.links = {
            name: set_url(name, team=str(team.code)) or _team_section(team, name)
            for name in SETS
        }
        rows.append(row)
    # The register cannot filter on "no team", so that row carries no links.
    no_team = None if search else TeamRow(None, counts.get(None, dict.fromkeys(SETS, 0)))
    return TeamTable(_sorted(rows, sort), no_team)


def _team_section(team: Team, name: str) -> str:
    return f"{reverse('ownership:team_detail', args=[team.code])}#{name.replace('_', '-')}"


def _sorted(rows: list[TeamRow], sort: str) -> list[TeamRow]:
    rows.sort(key=lambda r: r.name.lower())
    if sort != "name":
        # A stable sort keeps the alphabetical order among equal numbers.
        key = sort if sort in TEAM_SORTS else "orphaned"
        rows.sort(key=lambda r: r.counts.get(key, 0), reverse=True)
    return rows


def team_totals(table: TeamTable) -> dict[str, int]:
    """Sums over the listed teams and the no-team bucket, for the stats strip."""
    totals = dict.fromkeys(SETS, 0)
    for row in [*table.rows, *([table.no_team] if table.no_team else [])]:
        for name in SETS:
            totals[name] += row.counts[name]
    return totals


def team_counts(team: Team) -> dict[str, int]:
    """The team's identity counts in one aggregate query."""
    return Identity.objects.filter(team=team).aggregate(**set_counts())


def team_members(team: Team) -> QuerySet:
    """Members of the team (active first) with how many identities they own per role."""
    return with_owned_counts(Person.objects.filter(team=team)).order_by("-is_active", "name")


# Columns the identity tables never show; JSON blobs can be large on a million rows.
UNSHOWN = ("attributes", "owner_hints", "tags", "permissions_summary", "purpose", "data_hash")


def team_orphans(team: Team) -> QuerySet:
    """The team's identities with neither technical nor business owner, riskiest first."""
    return (
        Identity.objects.all()
        .filter(NO_OWNER, team=team)
        .select_related("source", "environment")
        .defer(*UNSHOWN)
        .order_by(*riskiest_first())
    )


def team_owner_left(team: Team) -> QuerySet:
    """The team's identities where an assigned owner has left, riskiest first."""
    return (
        Identity.objects.all()
        .filter(OWNER_LEFT, team=team)
        .select_related("source", "environment", "technical_owner", "business_owner",
                        "backup_owner")
        .defer(*UNSHOWN)
        .order_by(*riskiest_first())
    )


# --- people ------------------------------------------------------------------------------


def owned_by(person_ref) -> Q:
    """Identities where `person_ref` (a Person, pk or OuterRef) holds any owner role."""
    return (
        Q(technical_owner=person_ref) | Q(business_owner=person_ref) | Q(backup_owner=person_ref)
    )


OWNED_COUNTS = ("technical_count", "business_count", "backup_count", "owned_count")


def with_owned_counts(people: QuerySet) -> QuerySet:
    """Annotate people with identities owned per role and in total (any role)."""
    identities = Identity.objects.all()
    return people.annotate(
        **{
            f"{role}_count": _count(identities.filter(**{f"{role}_owner": OuterRef("pk")}))
            for role in ROLES
        },
        owned_count=_count(identities.filter(owned_by(OuterRef("pk")))),
    )


def attach_owned_counts(people: list[Person]) -> list[Person]:
    """Set OWNED_COUNTS on an already fetched page of people, in one query.

    Counting after paging keeps a deep page cheap: annotating the paged queryset would
    make PostgreSQL evaluate the subqueries for every row skipped by the OFFSET too.
    """
    counted = with_owned_counts(Person.objects.filter(pk__in=[p.pk for p in people]))
    by_pk = {row["pk"]: row for row in counted.values("pk", *OWNED_COUNTS)}
    for person in people:
        for name in OWNED_COUNTS:
            setattr(person, name, by_pk[person.pk][name])
    return people


PERSON_STATUSES = {
    "": "Everyone",
    "active": "Active",
    "left": "Left",
    "left_owning": "Left, still owning identities",
}


def people(search: str = "", status: str = "", team: Team | None = None) -> QuerySet:
    """People matching the list filters, with their team, by name (see attach_owned_counts)."""
    found = Person.objects.select_related("team")
    search = search.strip()
    if search:
        found = found.filter(Q(name__icontains=search) | Q(email__icontains=search))
    if status == "active":
        found = found.filter(is_active=True)
    elif status in ("left", "left_owning"):
        found = found.filter(is_active=False)
    if status == "left_owning":
        found = found.filter(Exists(Identity.objects.filter(owned_by(OuterRef("pk")))))
    if team is not None:
        found = found.filter(team=team)
    return found.order_by("name", "id")


def person_counts(person: Person) -> dict[str, int]:
    """How many identities the person owns per role and in total, in one query."""
    return (
        Identity.objects.all()
        .filter(owned_by(person))
        .aggregate(
            technical=Count("pk", filter=Q(technical_owner=person)),
            business=Count("pk", filter=Q(business_owner=person)),
            backup=Count("pk", filter=Q(backup_owner=person)),
            total=Count("pk"),
        )
    )


def person_identities(person: Person, limit: int = 100) -> list[Identity]:
    """The first `limit` identities the person owns, each with `.roles` they hold."""
    rows = list(
        Identity.objects.all()
        .filter(owned_by(person))
        .select_related("source", "environment", "team")
        .defer(*UNSHOWN)
        .order_by(*riskiest_first())[:limit]
    )
    for identity in rows:
        identity.roles = [
            role for role in ROLES if getattr(identity, f"{role}_owner_id") == person.pk
        ]
    return rows
