"""`manage.py check --deploy` is clean with production settings: DEBUG off, an https
SITE_URL and a real SECRET_KEY, nothing else set."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides) -> dict:
    # Only what an operator must set; every security default comes from nhigov.settings.
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' conftest in the same session.
    drop = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SITE_URL", "SECRET_KEY", "ALLOWED_HOSTS",
            "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environ = {k: v for k, v in os.environ.items()
               if k not in drop and not k.startswith(("SECURE_", "SESSION_", "CSRF_"))}
    environ.update({"DJANGO_SETTINGS_MODULE": "nhigov.settings", "DEBUG": "0",
                    "SITE_URL": "https://nhigov.example", "ALLOWED_HOSTS": "nhigov.example",
                    "SECRET_KEY": secrets.token_urlsafe(50)})
    environ.update(overrides)
    return environ


def run(args: list[str], **overrides) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=production_env(**overrides),
                          capture_output=True, text=True, timeout=120)


def test_it_passes_check_deploy_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_it_turns_on_https_protections_for_an_https_site():
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER)")
    result = run(["-c", code], SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "31536000", "True", "True",
                                     "('HTTP_X_FORWARDED_PROTO',", "'https')"]


def test_it_reports_what_is_missing_when_the_site_is_plain_http():
    # The check is meaningful: the same settings over http are flagged.
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                 SITE_URL="http://nhigov.example")
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_it_refuses_a_proxy_header_that_is_not_a_request_meta_key():
    result = run(["-c", "import django; django.setup()"],
                 SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must name a request.META key" in result.stderr
