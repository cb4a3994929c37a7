"""DRF authentication with personal API tokens (nhigov.lib.tokens).

`Authorization: Bearer <token>`, or `Authorization: Token <token>` as DRF's authtoken
clients sent it. A read-scoped token is refused on any unsafe method here, before any
view or permission class runs, so no endpoint can forget the scope; a write-scoped token
can do what the user's role allows (nhigov.lib.api_permissions).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS

from nhigov.lib import tokens
from nhigov.models import ApiToken

KEYWORDS = (b"bearer", b"token")


class ApiTokenAuthentication(BaseAuthentication):
    """Personal API tokens; sessions are handled by DRF's SessionAuthentication after it."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None  # not ours: another class (the session) may authenticate
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: use 'Bearer <token>'.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        try:
            checked = tokens.check(raw)
        except tokens.TokenProblem as problem:
            raise exceptions.AuthenticationFailed(str(problem)) from None
        if checked.token.scope == ApiToken.Scope.READ and request.method not in SAFE_METHODS:
            # DRF resets the user to anonymous when authentication raises: keep who it was
            # for the denial log (nhigov.lib.denials), which reads the Django request.
            request._request.nhigov_refused_user = checked.user
            raise exceptions.PermissionDenied("This token is read-only (scope: read).")
        return checked.user, checked.token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) with a WWW-Authenticate challenge.
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema (drf-spectacular) describes ApiTokenAuthentication."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (Authorization: Bearer <token>), created under "
                           "API tokens in the portal. Read-scoped tokens may only read.",
        }
