"""People and teams pages."""

from django.urls import path

from ownership import views

app_name = "ownership"

urlpatterns = [
    path("teams/", views.TeamListView.as_view(), name="team_list"),
    path("teams/<uuid:code>/", views.TeamDetailView.as_view(), name="team_detail"),
    path("people/", views.PersonListView.as_view(), name="person_list"),
    path("people/<uuid:code>/", views.PersonDetailView.as_view(), name="person_detail"),
]
