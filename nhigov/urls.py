"""Top-level URLs: the portal pages, the API under /api/v1/, accounts and Django admin."""

from allauth.account.views import login as allauth_login
from django.contrib import admin
from django.urls import include, path

from inventory.risk.views_dashboard import home
from nhigov.health import healthz
from nhigov.lib.accounts import admin_login
from nhigov.lib.sso import allow_sso_form_action
from nhigov.tokens_views import TokenListView, TokenRevokeView

urlpatterns = [
    path("", home, name="home"),  # role-aware: dashboard for analysts, register for owners
    path("healthz/", healthz, name="healthz"),
    # allauth's sign-in page, with a CSP that lets its SSO form reach the provider.
    path("accounts/login/", allow_sso_form_action(allauth_login), name="account_login"),
    path("accounts/", include("allauth.urls")),
    path("account/tokens/", TokenListView.as_view(), name="account_tokens"),
    path("account/tokens/<uuid:code>/revoke/", TokenRevokeView.as_view(),
         name="account_token_revoke"),
    path("admin/login/", admin_login),  # the portal's sign-in (MFA, throttling) instead
    path("admin/", admin.site.urls),
    path("api/v1/", include("nhigov.api_urls")),
    path("", include("inventory.urls")),
    path("", include("inventory.risk.urls")),
    path("", include("ownership.urls")),
    path("", include("reviews.urls")),
    path("", include("nhigov.audit_urls")),
    path("", include("nhigov.evidence.urls")),
]
