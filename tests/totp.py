"""TOTP for tests: a fixed seed for the fixture users and RFC 6238 codes computed here,
independently of allauth, so a test proves the portal accepts what an authenticator app
would show."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

# The seed the `users` fixture gives admin and analyst (base32, as an app would scan it).
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str = TEST_TOTP_SECRET, at: float | None = None, step: int = 30) -> str:
    """The 6-digit RFC 6238 code for `secret` at time `at` (now by default)."""
    counter = int((time.time() if at is None else at) // step)
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def fresh_totp_code(user, secret: str = TEST_TOTP_SECRET) -> str:
    """A code allauth will accept for `user` now: allauth refuses a code used in the last
    period, and the cache outlives a test (and user ids repeat across SQLite tests), so the
    used-code marker for this user and code is dropped first."""
    from django.core.cache import cache

    code = totp_code(secret)
    cache.delete(f"allauth.mfa.totp.used?user={user.pk}&code={code}")
    return code


def give_totp(user, secret: str = TEST_TOTP_SECRET):
    """Enrol `user` with a TOTP authenticator on `secret` (stored encrypted by the adapter)."""
    from allauth.mfa.totp.internal.auth import TOTP

    return TOTP.activate(user, secret).instance
