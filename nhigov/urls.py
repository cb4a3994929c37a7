"""Top-level URLs: the portal pages, the API under /api/v1/, accounts and Django admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inventory:identity_list"), name="home"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("nhigov.api_urls")),
    path("", include("inventory.urls")),
    path("", include("inventory.risk.urls")),
    path("", include("ownership.urls")),
    path("", include("reviews.urls")),
]
