"""People and teams pages (placeholder)."""

from django.views.generic import ListView

from inventory.views.mixins import ReadAllMixin
from ownership.models import Person, Team


class TeamListView(ReadAllMixin, ListView):
    model = Team


class TeamDetailView(ReadAllMixin, ListView):
    model = Team


class PersonListView(ReadAllMixin, ListView):
    model = Person


class PersonDetailView(ReadAllMixin, ListView):
    model = Person
