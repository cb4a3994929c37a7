"""API v1 routes (placeholder until the API lands)."""

from django.urls import path
from django.views.generic import TemplateView

urlpatterns = [
    path("docs/", TemplateView.as_view(template_name="base.html"), name="api-docs"),
]
