"""Small strict parsers for settings taken from environment variables.

A bad value stops start-up with ImproperlyConfigured naming the variable, rather than
silently falling back to a default that would surprise an operator in production.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true/false, 1/0, yes/no)")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, schemes: tuple[str, ...], default: str = "") -> str:
    """Return a URL whose scheme is one of `schemes`, or "" when unset."""
    value = _raw(name)
    if not value:
        return default
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name} must be a URL starting with {allowed}; got {value!r}")
    return value


def database_config(url: str, base_dir: os.PathLike) -> dict:
    """Turn DATABASE_URL into a DATABASES entry; empty means the embedded SQLite file."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(base_dir, "db.sqlite3"),
            "OPTIONS": {"timeout": 20},
        }
    import dj_database_url

    scheme = urlparse(url).scheme
    if scheme not in ("postgres", "postgresql", "sqlite"):
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {scheme!r} is not supported; use postgresql:// or sqlite://"
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not valid: {exc}") from None
    if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
        raise ImproperlyConfigured("DATABASE_URL names no database (postgresql://host/NAME)")
    return config


def env_choices(name: str, choices: tuple[str, ...], default: list[str]) -> list[str]:
    """A comma-separated list whose items must each be one of `choices` ("" = empty list)."""
    values = env_list(name, default)
    unknown = [v for v in values if v not in choices]
    if unknown:
        raise ImproperlyConfigured(
            f"{name} has unknown value(s) {', '.join(unknown)}; allowed: {', '.join(choices)}"
        )
    return values


def env_secret(name: str) -> str:
    """A secret from `name`, or read from the file named by `name`_FILE (a mounted secret).

    Setting both is refused: an operator would not know which one is in force. The value is
    never echoed in an error message.
    """
    value, path = _raw(name), _raw(f"{name}_FILE")
    if value and path:
        raise ImproperlyConfigured(f"set {name} or {name}_FILE, not both")
    if not path:
        return value or ""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc.strerror}") from None
