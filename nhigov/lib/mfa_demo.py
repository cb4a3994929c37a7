"""Second factors for the demo's admin and analyst logins (`load_demo`).

The demo keeps MFA required, as in production, and stays easy to try: each login that
needs it gets a TOTP authenticator on a fixed, published secret (add it to any
authenticator app, or scan the printed otpauth URI) and recovery codes from a fixed seed
(type one instead of a code, no app needed). Both are reset on every `load_demo`, like
the demo passwords; they are for a laptop, never for production.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import quote

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.utils import encrypt
from django.conf import settings


@dataclass
class DemoFactor:
    secret: str
    uri: str
    recovery_codes: list[str]


def demo_secret(email: str) -> str:
    """A fixed base32 TOTP secret per demo login (20 bytes, as authenticator apps expect)."""
    return base64.b32encode(f"nhigov-demo:{email}".encode()[:20].ljust(20, b"!")).decode()


def otpauth_uri(email: str, secret: str) -> str:
    issuer = settings.MFA_TOTP_ISSUER or "nhigov"
    return (f"otpauth://totp/{quote(issuer)}:{quote(email)}?secret={secret}"
            f"&issuer={quote(issuer)}&digits=6&period=30")


def enrol_demo_user(user) -> DemoFactor:
    """Reset `user`'s TOTP and recovery codes to the demo's fixed values."""
    secret = demo_secret(user.email)
    Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
    ).delete()
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP,
                                 data={"secret": encrypt(secret)})
    codes = Authenticator.objects.create(
        user=user, type=Authenticator.Type.RECOVERY_CODES,
        data={"seed": encrypt(f"nhigov-demo-recovery:{user.email}"), "used_mask": 0})
    return DemoFactor(secret, otpauth_uri(user.email, secret),
                      RecoveryCodes(codes).generate_codes()[:3])
