"""Settings come from the environment through strict parsers; bad values stop start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from nhigov.lib import env

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 50


def start(**overrides) -> subprocess.CompletedProcess:
    """Import the real settings in a fresh interpreter with `overrides` as environment."""
    environ = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environ.update({"DJANGO_SETTINGS_MODULE": "nhigov.settings", "SECRET_KEY": GOOD_KEY})
    environ.update(overrides)
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_TASK_ALWAYS_EAGER)"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=60)


def test_it_runs_embedded_without_database_and_redis_urls():
    result = start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True"]


def test_it_uses_postgresql_and_redis_when_configured():
    result = start(DATABASE_URL="postgresql://u@db.example:5432/nhigov",
                   REDIS_URL="redis://cache.example:6379/0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "False"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL must be a URL starting with"),
        ("DATABASE_URL", "postgresql://host", "names no database"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL must be a URL"),
        ("EMAIL_PORT", "twenty-five", "EMAIL_PORT='twenty-five' is not an integer"),
        ("EMAIL_PORT", "0", "EMAIL_PORT=0 must be at least 1"),
        ("SITE_URL", "nhigov.example", "SITE_URL must be a URL"),
        ("SECRET_KEY", "short", "SECRET_KEY must be set"),
    ],
)
def test_it_refuses_bad_values_with_a_clear_message(variable, value, message):
    result = start(**{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_it_refuses_the_placeholder_secret_outside_debug():
    environ = {"SECRET_KEY": "insecure-dev-key-change-me"}
    assert start(**environ).returncode != 0
    assert start(DEBUG="1", **environ).returncode == 0


def test_it_parses_lists_and_booleans(monkeypatch):
    monkeypatch.setenv("X_LIST", " a.example , ,b.example ")
    monkeypatch.setenv("X_BOOL", "Yes")
    assert env.env_list("X_LIST") == ["a.example", "b.example"]
    assert env.env_bool("X_BOOL") is True
    assert env.env_bool("X_UNSET", default=True) is True
    monkeypatch.setenv("X_INT", "-1")
    with pytest.raises(ImproperlyConfigured):
        env.env_int("X_INT", 5, minimum=0)
