"""Single sign-on through allauth's generic OpenID Connect provider, configured by environment.

Decision: SSO never creates accounts. An SSO login is accepted only when the provider
asserts a *verified* email address that belongs to exactly one active portal user (created
by an admin); the SSO identity is then linked to that user and later logins match on the
provider's subject. Anyone else is refused with a page that says so, and the refusal is
logged without the address. Roles therefore stay an admin decision, and a mis-configured
or compromised IdP cannot mint portal accounts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlparse

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from nhigov.lib.audit import Actor, Change, record

logger = logging.getLogger(__name__)


def _verified_emails(sociallogin) -> list[str]:
    # allauth copies the email_verified claim as sent, and some providers send it as a
    # string ("false" is truthy): only a boolean true or "true" counts as verified.
    return [e.email.strip() for e in sociallogin.email_addresses
            if e.email and (e.verified is True or str(e.verified).lower() == "true")]


def match_user(sociallogin):
    """The one active user whose email the provider verified, or None."""
    users = get_user_model().objects.filter(is_active=True)
    for email in _verified_emails(sociallogin):
        # PostgreSQL's UPPER() folds look-alikes onto ASCII ("ſ" -> "S", "ı" -> "I"), so
        # iexact alone would link "owner@example.teſt" to owner@example.test.
        found = [u for u in users.filter(email__iexact=email)[:2]
                 if u.email.lower() == email.lower()]
        if len(found) == 1:
            return found[0]
    return None


def refuse(request, reason: str):
    """Stop the login with a page saying why; logs the reason, never the address."""
    logger.warning("sso login refused: %s", reason)
    response = render(request, "socialaccount/sso_refused.html", {"reason": reason}, status=403)
    raise ImmediateHttpResponse(response)


class SSOAdapter(DefaultSocialAccountAdapter):
    """Links an SSO identity to an existing user by verified email; never signs anyone up."""

    def pre_social_login(self, request, sociallogin) -> None:
        if sociallogin.is_existing:
            if not sociallogin.user.is_active:
                refuse(request, "inactive")
            return
        user = match_user(sociallogin)
        if user is None:
            refuse(request, "no matching account")
        # Linking here (rather than allauth's email authentication) keeps the user's
        # password: allauth would wipe it because admin-created addresses carry no
        # EmailAddress row marked verified.
        sociallogin.connect(request, user)
        record(Actor.for_user(user, getattr(request, "request_id", "")),
               Change("user.sso_link", "user", user.get_username(), str(user),
                      after={"provider": sociallogin.account.provider,
                             "subject": sociallogin.account.uid}),
               reason="first single sign-on, matched by verified email")

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False


def sso_origins() -> list[str]:
    """Origins of the configured OIDC providers (scheme://host[:port])."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    origins = []
    for app in apps:
        url = urlparse(app.get("settings", {}).get("server_url", ""))
        if url.scheme and url.netloc:
            origins.append(f"{url.scheme}://{url.netloc}")
    return origins


def allow_sso_form_action(view: Callable) -> Callable:
    """Let the sign-in page's SSO form be redirected to the identity provider.

    The portal's CSP says `form-action 'self'`, and browsers apply form-action to the
    redirects that follow a form's POST, so the "Sign in with ..." button (a POST, so a
    mere link cannot start SSO) would stop at the provider. This page alone adds the
    provider's origin; the security-headers middleware keeps a CSP a view has set.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        origins = sso_origins()
        if origins and "Content-Security-Policy" not in response:
            from nhigov.lib.security_headers import CSP

            extra = " ".join(origins)
            response["Content-Security-Policy"] = CSP.replace(
                "form-action 'self'", f"form-action 'self' {extra}")
        return response

    return wrapped
