"""Multi-factor authentication (allauth.mfa): who must have it, and the gate that enforces it.

Roles listed in settings.NHIGOV_MFA_REQUIRED_ROLES (env NHIGOV_MFA_REQUIRED_ROLES, default
"admin,analyst") must have a TOTP app or a security key. A signed-in user of such a role
without one reaches only the MFA setup pages, sign-out and static files; API calls made
with the session cookie get 403 (API tokens are a separate credential and pass).
TOTP seeds and recovery-code seeds are encrypted at rest (MFAAdapter).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.conf import settings
from django.contrib import messages
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from nhigov.lib.roles import role_of

# Authenticators that count as a second factor; recovery codes alone are only a fallback.
SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
_PREFIX = "fernet:"


def mfa_required(user) -> bool:
    return role_of(user) in settings.NHIGOV_MFA_REQUIRED_ROLES


def has_second_factor(user) -> bool:
    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS).exists()


def _open_paths() -> tuple[str, ...]:
    """URL prefixes an unenrolled user may still reach: MFA setup, re-auth, sign-out."""
    return (
        reverse("mfa_index"),
        reverse("account_logout"),
        reverse("account_reauthenticate"),
        "/" + settings.STATIC_URL.lstrip("/"),
    )


class MFARequiredMiddleware:
    """Sends users of MFA-required roles without a second factor to the MFA setup page.

    Runs after AuthenticationMiddleware, so `request.user` is the *session* user: requests
    authenticated by an API token carry no session and are left to DRF.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        # Only a check that is needed costs a query: anonymous users and roles without the
        # requirement add nothing (role_of is cached on the user for the request).
        if (
            user is not None
            and user.is_authenticated
            and mfa_required(user)
            and not has_second_factor(user)
            and not request.path.startswith(_open_paths())
        ):
            return self._refuse(request)
        return self.get_response(request)

    def _refuse(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "detail": "Two-factor authentication must be set up before using the API "
                    "with a browser session."
                },
                status=403,
            )
        messages.warning(
            request,
            "Your role requires two-factor authentication. Set up an authenticator app or a "
            "security key to continue.",
        )
        return redirect("mfa_index")


def _fernet():
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    # A key of its own, derived from NHIGOV_MFA_KEY or SECRET_KEY: rotating SECRET_KEY
    # without setting NHIGOV_MFA_KEY to the old value would lock every TOTP user out.
    material = (settings.NHIGOV_MFA_KEY or settings.SECRET_KEY).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nhigov-mfa-v1").derive(
        material
    )
    return Fernet(base64.urlsafe_b64encode(key))


class MFAAdapter(DefaultMFAAdapter):
    """allauth's MFA adapter with TOTP and recovery-code seeds encrypted in the database."""

    def encrypt(self, text: str) -> str:
        return _PREFIX + _fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(_PREFIX):
            return encrypted_text  # written before encryption was on
        return _fernet().decrypt(encrypted_text[len(_PREFIX) :].encode()).decode()


def _audit(action: str, request, user, after: dict) -> None:
    from nhigov.lib.audit import Actor, Change, record

    actor = Actor.for_request(request) if request is not None else Actor.system("mfa")
    record(actor, Change(action, "user", user.get_username(), str(user), after=after))


@receiver(authenticator_added)
def audit_authenticator_added(sender, request=None, user=None, authenticator=None, **kw):
    """Adding a second factor changes how an account signs in: audited (type only)."""
    _audit("user.mfa_add", request, user, {"type": authenticator.type})


@receiver(authenticator_removed)
def audit_authenticator_removed(sender, request=None, user=None, authenticator=None, **kw):
    _audit("user.mfa_remove", request, user, {"type": authenticator.type})
