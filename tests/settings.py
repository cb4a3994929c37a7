"""Test settings: the real settings module, with a fixed test secret and fast hashing.

DATABASE_URL and REDIS_URL pass through, so the same suite runs embedded (SQLite,
in-process tasks) or against PostgreSQL and Redis, as CI does.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from nhigov.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; tests
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The live server serves static files itself; WhiteNoise would only warn that the
# collected-static directory does not exist in a checkout.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise.")]  # noqa: F405
# Every refusal audited: the rate limit's counts live in a cache that outlives a test's
# rolled-back users (and, with REDIS_URL, the run), so a window would make counts depend
# on test order. tests/nhigov/test_denials.py sets a window where it tests one.
DENIAL_AUDIT_SECONDS = 0
