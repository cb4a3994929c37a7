"""People and teams pages: who owns what, and which identities have nobody (OWASP NHI1).

Views stay thin: every count and identity set comes from ownership.queries.
"""

from __future__ import annotations

import uuid

from django.core.paginator import Paginator
from django.views.generic import DetailView, TemplateView

from inventory.views.mixins import ReadAllMixin
from ownership import queries
from ownership.models import Person, Team

TEAMS_PER_PAGE = 100
PEOPLE_PER_PAGE = 50
IDENTITIES_SHOWN = 100


class TeamListView(ReadAllMixin, TemplateView):
    """Every team with its lead, members and orphaned/owner-left/admin identity counts."""

    template_name = "ownership/team_list.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        q = self.request.GET.get("q", "").strip()
        sort = self.request.GET.get("sort", "orphaned")
        sort = sort if sort in queries.TEAM_SORTS else "orphaned"
        table = queries.team_table(q, sort)
        page = Paginator(table.rows, TEAMS_PER_PAGE).get_page(self.request.GET.get("page"))
        context.update(
            q=q, sort=sort, page=page, rows=page.object_list, no_team=table.no_team,
            totals=queries.team_totals(table), team_count=len(table.rows),
            orphaned_url=queries.set_url("orphaned"), all_url=queries.register_url(),
            sorts=[("name", "Team"), ("members", "Members"), ("identities", "Identities"),
                   ("orphaned", "Orphaned"), ("owner_left", "Owner left"),
                   ("admin", "Admin")],
        )
        return context


class TeamDetailView(ReadAllMixin, DetailView):
    """One team: its numbers, members and the identities that need a new owner."""

    template_name = "ownership/team_detail.html"
    context_object_name = "team"
    slug_field = slug_url_kwarg = "code"
    queryset = Team.objects.select_related("lead")

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        team, code = self.object, str(self.object.code)
        orphans, owner_left = queries.team_orphans(team), queries.team_owner_left(team)
        members = list(queries.team_members(team))
        context.update(
            counts=queries.team_counts(team),
            members=members,
            members_active=sum(p.is_active for p in members),
            members_left=sum(not p.is_active for p in members),
            orphans=orphans[:IDENTITIES_SHOWN],
            owner_left=owner_left[:IDENTITIES_SHOWN],
            shown=IDENTITIES_SHOWN,
            links={name: queries.set_url(name, team=code) for name in queries.SETS},
        )
        return context


class PersonListView(ReadAllMixin, TemplateView):
    """Everyone who can own identities, with how many they own per role."""

    template_name = "ownership/person_list.html"

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        get = self.request.GET
        q, status = get.get("q", "").strip(), get.get("status", "")
        status = status if status in queries.PERSON_STATUSES else ""
        team = self._team(get.get("team", ""))
        people = queries.people(q, status, team)
        page = Paginator(people, PEOPLE_PER_PAGE).get_page(get.get("page"))
        page.object_list = queries.attach_owned_counts(list(page.object_list))
        context.update(
            q=q, status=status, team=team, page=page, statuses=queries.PERSON_STATUSES,
            filtered=bool(q or status or team),
        )
        return context

    def _team(self, code: str) -> Team | None:
        # A malformed or unknown team code narrows nothing rather than failing the page.
        try:
            return Team.objects.filter(code=uuid.UUID(code)).first()
        except ValueError:
            return None


class PersonDetailView(ReadAllMixin, DetailView):
    """One person: who they are and the identities they own, badged by role."""

    template_name = "ownership/person_detail.html"
    context_object_name = "person"
    slug_field = slug_url_kwarg = "code"
    queryset = Person.objects.select_related("team", "user")

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        person = self.object
        context.update(
            counts=queries.person_counts(person),
            identities=queries.person_identities(person, IDENTITIES_SHOWN),
            shown=IDENTITIES_SHOWN,
            register_url=queries.register_url(owner=str(person.code)),
            teams_led=list(person.teams_led.all()),
        )
        return context

