"""Issue (or rotate) a personal API token of a portal user, for machines calling /api/v1/.

The token is printed once and never shown again: only its HMAC is stored
(nhigov.lib.tokens). Tokens are named; `--rotate` revokes the user's live tokens of that
name and issues a new one, so the old one stops working at once. Both are recorded in
the audit log (without the token, of course). People create their own tokens on the
API tokens page (/account/tokens/).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from nhigov.lib import tokens
from nhigov.lib.audit import Actor
from nhigov.lib.roles import role_of
from nhigov.models import ApiToken

ACTOR = "manage.py create_api_token"


class Command(BaseCommand):
    """python manage.py create_api_token EMAIL [--name N] [--scope read|write] [--days D]
    [--rotate]"""

    help = "Create a personal API token for the user with EMAIL and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="Email of an active portal user with a role.")
        parser.add_argument("--name", default="command line", help="The token's name.")
        parser.add_argument(
            "--scope", choices=[s.value for s in ApiToken.Scope], default=ApiToken.Scope.READ,
            help="read: GET only; write: whatever the user's role allows (default: read).")
        parser.add_argument(
            "--days", type=int, default=None,
            help=f"Days until it expires (default and maximum: NHIGOV_API_TOKEN_MAX_DAYS, "
                 f"now {settings.NHIGOV_API_TOKEN_MAX_DAYS}).")
        parser.add_argument(
            "--rotate", action="store_true",
            help="Revoke the user's live tokens with this name and issue a new one.")

    def handle(self, *args, email: str, name: str, scope: str, days: int | None,
               rotate: bool = False, **options) -> None:
        user = _active_user(email)
        if role_of(user) is None:
            # A token for a user without a role would be refused on every endpoint.
            raise CommandError(f"{user.email} has no role; add them to a role group first.")
        days = settings.NHIGOV_API_TOKEN_MAX_DAYS if days is None else days
        if not 1 <= days <= settings.NHIGOV_API_TOKEN_MAX_DAYS:
            raise CommandError(f"--days must be 1 to {settings.NHIGOV_API_TOKEN_MAX_DAYS}.")
        actor = Actor.system(ACTOR)
        with transaction.atomic():
            live = list(ApiToken.objects.select_for_update().select_related("user")
                        .filter(user=user, name=name, revoked_at__isnull=True,
                                expires_at__gt=timezone.now()))
            if live and not rotate:
                raise CommandError(f"{user.email} already has a live API token named {name!r}; "
                                   "use --rotate to replace it.")
            for old in live:
                tokens.revoke(old, actor, reason="rotated")
            _, raw = tokens.issue(user, name, scope, timezone.now() + timedelta(days=days), actor)
        self.stdout.write(raw)


def _active_user(email: str):
    users = list(get_user_model().objects.filter(email__iexact=email.strip(), is_active=True))
    if len(users) != 1:
        problem = "no active user" if not users else "several active users"
        raise CommandError(f"There is {problem} with the email {email!r}.")
    return users[0]
