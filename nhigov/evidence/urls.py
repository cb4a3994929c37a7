"""Evidence pack page."""

from django.urls import path

from nhigov.evidence import views

app_name = "evidence"

urlpatterns = [
    path("evidence/", views.EvidencePackView.as_view(), name="pack"),
]
