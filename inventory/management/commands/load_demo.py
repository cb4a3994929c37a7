"""Load the AI-factory demo: teams, people, one login per role, sources, ~900 identities.

Identities go through `inventory.sync.sync_records`, exactly as discovery writes them;
owners, teams, purposes and zones travel as owner hints, which sync uses to fill empty
fields. Safe to run again: the same day gives the same records, so every sync run finds
nothing to change, and the demo logins get their demo passwords back.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from inventory import demo
from inventory.models import Environment, Identity, Source
from inventory.sync import sync_records
from nhigov.lib.audit import Actor, Change, record_many
from nhigov.lib.roles import ROLES
from ownership.models import Person, Team

# Fixed demo passwords, printed at the end: this data set is for a laptop, never production.
LOGINS = {role: (f"{role}@demo.nhigov.test", f"demo-{role}-2025") for role in ROLES}
ACTOR = Actor.system("load_demo")


class Command(BaseCommand):
    help = "Load the deterministic AI-factory demo data set (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today", type=date.fromisoformat, default=None,
            help="Date the demo's ages are counted from (YYYY-MM-DD; default: today, UTC).")

    def handle(self, *args, today: date | None = None, **options) -> None:
        started = time.monotonic()
        today = today or datetime.now(UTC).date()
        now = datetime(today.year, today.month, today.day, tzinfo=UTC)
        with transaction.atomic():
            self._environments()
            self._organisation()
            self._users()
            sources = self._sources()
        self.stdout.write("Syncing the AI-factory demo sources:")
        for name, records in demo.build_records(now).items():
            run = sync_records(sources[name], records, complete=True, triggered_by="load_demo")
            self.stdout.write(
                f"  {name:<16} {run.status:<9} seen={run.seen} created={run.created} "
                f"updated={run.updated} unchanged={run.unchanged} missing={run.missing}"
            )
        self._departures(now)
        self._summary(now, time.monotonic() - started)

    def _environments(self) -> None:
        for slug, name, is_production in demo.ENVIRONMENTS:
            Environment.objects.get_or_create(
                slug=slug, defaults={"name": name, "is_production": is_production}
            )

    def _organisation(self) -> None:
        """Teams and people; existing rows are left as they are (people may have edited)."""
        changes = []
        for slug, name, description, members in demo.TEAMS:
            team, created = Team.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description,
                                     "email": f"{slug}@{demo.DOMAIN}"})
            if created:
                changes.append(Change("team.create", "team", team.code, name,
                                      after={"name": name, "slug": slug}))
            for person_name, _active in members:
                email = demo.person_email(person_name)
                # Everyone starts active; `_departures` marks leavers once their identities
                # were assigned, which is how an owner who left looks in a real register.
                person, created = Person.objects.get_or_create(
                    email=email, defaults={"name": person_name, "team": team})
                if created:
                    changes.append(Change("person.create", "person", person.code, str(person),
                                          after={"email": email, "team": slug}))
            if team.lead_id is None:
                team.lead = Person.objects.get(email=demo.person_email(members[0][0]))
                team.save(update_fields=["lead"])
        if changes:
            record_many(ACTOR, changes, reason="demo data")

    def _users(self) -> None:
        """One login per role, reset to the demo password; the owner login is a Person."""
        User = get_user_model()  # noqa: N806
        for role, (email, password) in LOGINS.items():
            user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
            user.email, user.is_active = email, True
            user.is_staff = user.is_superuser = role == "admin"
            if not user.check_password(password):
                user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
        owner = Person.objects.get(email=demo.OWNER_EMAIL)
        if owner.user_id is None:
            owner.user = User.objects.get(username=LOGINS["owner"][0])
            owner.save(update_fields=["user"])

    def _sources(self) -> dict[str, Source]:
        sources, changes = {}, []
        for name, kind, config in demo.SOURCES:
            source, created = Source.objects.get_or_create(
                name=name, defaults={"kind": kind, "config": config, "schedule": "0 * * * *"})
            if created:
                changes.append(Change("source.create", "source", source.code, name,
                                      after={"kind": kind, "config": config}))
            sources[name] = source
        if changes:
            record_many(ACTOR, changes, reason="demo data")
        return sources

    def _departures(self, now: datetime) -> None:
        leavers = [demo.person_email(n) for _, _, _, members in demo.TEAMS
                   for n, active in members if not active]
        people = list(Person.objects.filter(email__in=leavers, is_active=True))
        for person in people:
            person.is_active, person.left_at = False, now - timedelta(days=45)
            person.save(update_fields=["is_active", "left_at"])
        if people:
            record_many(ACTOR, [Change("person.update", "person", p.code, str(p),
                                       before={"is_active": True},
                                       after={"is_active": False, "left_at": p.left_at})
                                for p in people], reason="demo data: left the company")

    def _summary(self, now: datetime, seconds: float) -> None:
        register = Identity.objects.all()
        orphaned = register.filter(technical_owner=None, business_owner=None).count()
        dormant = register.filter(last_used_at__lt=now - timedelta(days=90)).count()
        self.stdout.write(self.style.SUCCESS(
            f"Demo register: {register.count()} identities, {orphaned} with no owner, "
            f"{dormant} dormant 90+ days, "
            f"{register.filter(interactive_login=True).count()} with interactive login "
            f"({seconds:.1f}s)."
        ))
        self.stdout.write("\nDemo logins (http://127.0.0.1:8000/):")
        for role, (email, password) in LOGINS.items():
            self.stdout.write(f"  {role:<8} {email:<28} {password}")
