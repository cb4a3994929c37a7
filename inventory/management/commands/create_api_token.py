"""Issue (or rotate) the API token of a portal user, for machines calling /api/v1/.

The token is printed once and never shown again; `--rotate` replaces an existing one,
which immediately stops the old token from working. Both are recorded in the audit log
(without the token, of course).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from nhigov.lib.audit import Actor, Change, record
from nhigov.lib.roles import role_of


class Command(BaseCommand):
    """python manage.py create_api_token EMAIL [--rotate]"""

    help = "Create an API token for the user with EMAIL and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="Email of an active portal user with a role.")
        parser.add_argument(
            "--rotate", action="store_true", help="Replace the user's existing token."
        )

    def handle(self, *args, email: str, rotate: bool = False, **options) -> None:
        user = _active_user(email)
        if role_of(user) is None:
            # A token for a user without a role would be refused on every endpoint.
            raise CommandError(f"{user.email} has no role; add them to a role group first.")
        with transaction.atomic():
            existing = Token.objects.select_for_update().filter(user=user).first()
            if existing and not rotate:
                raise CommandError(
                    f"{user.email} already has an API token; use --rotate to replace it."
                )
            if existing:
                existing.delete()
            token = Token.objects.create(user=user)
            action = "api_token.rotate" if existing else "api_token.create"
            record(Actor.system("manage.py create_api_token"),
                   Change(action, "user", str(user.pk), user.email))
        self.stdout.write(token.key)


def _active_user(email: str):
    users = list(get_user_model().objects.filter(email__iexact=email.strip(), is_active=True))
    if len(users) != 1:
        problem = "no active user" if not users else "several active users"
        raise CommandError(f"There is {problem} with the email {email!r}.")
    return users[0]
