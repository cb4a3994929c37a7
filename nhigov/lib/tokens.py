"""Personal API tokens: issue, check, revoke (models: nhigov.models.ApiToken).

A token is `nhi_` + 256 random bits. The database keeps only an HMAC-SHA256 of the whole
token, keyed from SECRET_KEY with a salt of its own (as DESIGN.md asks for matched
secrets), so a copy of the database yields no usable token. Rotating SECRET_KEY therefore
invalidates every token. The first characters (`prefix`) are kept in clear so an owner can
tell their tokens apart; they are not enough to guess the rest.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from nhigov.lib.audit import Actor, Change, record
from nhigov.models import ApiToken

# Must stay equal to the salt in nhigov/migrations/0004_api_token.py (migrated tokens).
SALT = "nhigov.api-token"
TOKEN_START = "nhi_"  # noqa: S105 (a public marker, not a secret)
PREFIX_LENGTH = 12  # "nhi_" and 8 random characters
# last_used_at is written at most this often per token: one UPDATE a minute, not per call.
TOUCH_EVERY = timedelta(minutes=1)


class TokenProblem(Exception):
    """A presented token cannot be used; the message is safe to show the caller."""


def digest(raw: str) -> str:
    return salted_hmac(SALT, raw, algorithm="sha256").hexdigest()


def max_lifetime() -> timedelta:
    return timedelta(days=settings.NHIGOV_API_TOKEN_MAX_DAYS)


def snapshot(token: ApiToken) -> dict:
    """What the audit log keeps of a token: never the token, nor its digest."""
    return {"name": token.name, "prefix": token.prefix, "scope": token.scope,
            "user": token.user.email, "expires_at": token.expires_at}


def issue(user, name: str, scope: str, expires_at: datetime, actor: Actor) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the token, which is never stored."""
    now = timezone.now()
    if not now < expires_at <= now + max_lifetime() + timedelta(minutes=1):
        raise ValueError(f"a token must expire within {settings.NHIGOV_API_TOKEN_MAX_DAYS} days")
    raw = TOKEN_START + secrets.token_urlsafe(32)
    token = ApiToken(code=uuid.uuid4(), user=user, name=name, prefix=raw[:PREFIX_LENGTH],
                     digest=digest(raw), scope=scope, created_at=now, expires_at=expires_at)
    with transaction.atomic():
        token.save()
        record(actor, Change("api_token.create", "api_token", token.code, str(token),
                             after=snapshot(token)))
    return token, raw


def revoke(token: ApiToken, actor: Actor, reason: str = "") -> bool:
    """Revoke one token; False when it was already revoked (nothing recorded twice)."""
    with transaction.atomic():
        # Claimed with a conditional UPDATE so two concurrent revokes record one event.
        done = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        if done:
            record(actor, Change("api_token.revoke", "api_token", token.code, str(token),
                                 before=snapshot(token)), reason)
    return bool(done)


def revoke_all(user, actor: Actor, reason: str) -> int:
    """Revoke every live token of `user` (deactivation); returns how many."""
    live = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True).select_related("user"))
    return sum(revoke(token, actor, reason) for token in live)


@dataclass
class Checked:
    token: ApiToken
    user: object


def check(raw: str) -> Checked:
    """The live token for `raw`, or TokenProblem saying why not. One query; the
    last-use stamp adds an UPDATE at most once a minute."""
    wanted = digest(raw)
    token = ApiToken.objects.select_related("user").filter(digest=wanted).first()
    # The lookup is by digest, which reveals nothing of the token; the explicit
    # constant-time comparison guards against a collation or index quirk matching loosely.
    if token is None or not hmac.compare_digest(token.digest, wanted):
        raise TokenProblem("Invalid token.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenProblem("This token has been revoked.")
    if token.expires_at <= now:
        raise TokenProblem("This token has expired; create a new one under API tokens.")
    if not token.user.is_active:
        raise TokenProblem("The user of this token is inactive.")
    _touch(token, now)
    return Checked(token, token.user)


def _touch(token: ApiToken, now: datetime) -> None:
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
