"""OIDC single sign-on settings from NHIGOV_OIDC_* (read by settings.py; no Django models
imported here). The login behaviour is in nhigov.lib.sso."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from nhigov.lib.env import env_secret, env_str

_PROVIDER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _server_url(value: str) -> str:
    parsed = urlparse(value)
    # Plain http only on loopback (a local IdP in development and tests): tokens and codes
    # would otherwise cross the network in clear.
    secure = parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in _LOOPBACK)
    if not (secure and parsed.hostname):
        raise ImproperlyConfigured(
            "NHIGOV_OIDC_SERVER_URL must be an https:// URL (http:// only on loopback); "
            f"got {value!r}"
        )
    return value.rstrip("/")


def oidc_app_from_env() -> dict | None:
    """The allauth `openid_connect` APP entry from NHIGOV_OIDC_*, or None when SSO is off.

    SSO is off when none of the variables is set; a partial configuration is refused.
    """
    names = ("PROVIDER_ID", "SERVER_URL", "CLIENT_ID")
    values = {n: env_str(f"NHIGOV_OIDC_{n}") for n in names}
    secret = env_secret("NHIGOV_OIDC_CLIENT_SECRET")
    if not any(values.values()) and not secret:
        return None
    missing = [f"NHIGOV_OIDC_{n}" for n, v in values.items() if not v]
    if missing:
        raise ImproperlyConfigured(f"OIDC single sign-on needs {', '.join(missing)} as well")
    if not _PROVIDER_ID.match(values["PROVIDER_ID"]):
        raise ImproperlyConfigured(
            "NHIGOV_OIDC_PROVIDER_ID must be lower-case letters, digits, - or _ "
            f"(it appears in URLs); got {values['PROVIDER_ID']!r}"
        )
    return {
        "provider_id": values["PROVIDER_ID"],
        "name": env_str("NHIGOV_OIDC_NAME") or values["PROVIDER_ID"],
        "client_id": values["CLIENT_ID"],
        # Public clients (PKCE only) may have no secret; PKCE is on either way.
        "secret": secret,
        "settings": {"server_url": _server_url(values["SERVER_URL"]), "oauth_pkce_enabled": True},
    }


def providers_setting(app: dict | None) -> dict:
    """SOCIALACCOUNT_PROVIDERS for the configured app (empty when SSO is off)."""
    if not app:
        return {}
    return {"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": [app]}}
