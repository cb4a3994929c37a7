"""Load the AI-factory demo: teams, people, one login per role, sources, ~900 identities.

Two ways to fill the register, the same data set either way:

* `--live` (the default; `make demo`): the demo AI factory is served by real servers on
  loopback (moto for AWS, OpenBao for Vault, a Kubernetes API stand-in, certificate
  files, a SaaS key export; see `inventory.demo.live`), the demo sources get real
  connector configurations, and the register is filled by discovery itself
  (`inventory.discovery.run_source`, the importer for the SaaS file). With
  `--keep-running` the servers stay up for the portal's "Run now"; `demo_servers stop`
  ends them. If a server cannot start, the command says so and loads offline instead.
* `--offline`: the generator's records go straight through `inventory.sync.sync_records`
  (no servers; what tests use).

Owners, teams, purposes and zones travel as owner hints, which sync uses to fill empty
fields. Safe to run again: the same day gives the same records, so every run finds
nothing to change, and the demo logins get their demo passwords back.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from inventory import demo
from inventory.demo import live
from inventory.demo.history import backfill_trend
from inventory.demo.live_files import demo_folder
from inventory.models import Environment, Identity, Source, SyncRun
from inventory.source_config import save_source, snapshot
from inventory.sync import sync_records
from nhigov.lib.audit import Actor, Change, record_many
from nhigov.lib.mfa_demo import enrol_demo_user
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
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--live", dest="mode", action="store_const", const="live",
                          help="Serve the demo from local servers and discover it (default).")
        mode.add_argument("--offline", dest="mode", action="store_const", const="offline",
                          help="Write the demo records directly through the sync (no servers).")
        parser.set_defaults(mode="live")
        parser.add_argument("--keep-running", action="store_true",
                            help="Live: leave the servers running (stop: demo_servers stop).")
        parser.add_argument("--demo-dir", default=None,
                            help="Live: folder for the servers' data (default: .demo).")
        parser.add_argument("--no-fallback", action="store_true",
                            help="Live: fail instead of loading offline when a server fails.")

    def handle(self, *args, today: date | None = None, mode: str = "live",
               keep_running: bool = False, demo_dir: str | None = None,
               no_fallback: bool = False, **options) -> None:
        started = time.monotonic()
        today = today or datetime.now(UTC).date()
        now = datetime(today.year, today.month, today.day, tzinfo=UTC)
        with transaction.atomic():
            self._environments()
            self._organisation()
            self._users()
        records = demo.build_records(now)
        loaded = mode == "live" and self._live(records, demo_dir, keep_running, no_fallback)
        if not loaded:
            self._offline(records)
        self._departures(now)
        # After discovery has evaluated risk: today's snapshot and the quarter before it.
        backfill_trend(today)
        self._summary(now, time.monotonic() - started)

    def _say(self, line: str) -> None:
        self.stdout.write(line)

    def _offline(self, records: dict) -> None:
        sources, switched = self._sources({name: config for name, _, config in demo.SOURCES})
        self.stdout.write("Syncing the AI-factory demo sources (offline):")
        for name, batch in records.items():
            run = sync_records(sources[name], batch, complete=True, triggered_by="load_demo")
            self._report(live.settle(run, name in switched, self._say))

    def _live(self, records: dict, demo_dir: str | None, keep_running: bool,
              no_fallback: bool) -> bool:
        """Load through the servers; False (after a warning) when they cannot start."""
        folder = demo_folder(demo_dir)
        self.stdout.write(f"Starting the demo's servers (data in {folder}):")
        try:
            prepared = live.start_servers(folder, records, self._say)
        except Exception as exc:  # missing package, port, binary...: the demo must still load
            if no_fallback:
                raise CommandError(f"The live demo could not start: {exc}") from exc
            self._warn_offline(exc)
            return False
        done = False
        try:
            sources, switched = self._sources(prepared.configs)
            self.stdout.write("Discovering the AI-factory demo sources:")
            runs = live.discover(prepared, sources, switched, self._say, self._report)
            failed = [r.source.name for r in runs if r.status != "succeeded"]
            if failed and no_fallback:
                raise CommandError(f"Discovery did not succeed for: {', '.join(failed)}")
            done = True
        except Exception as exc:
            if no_fallback or isinstance(exc, CommandError):
                raise
            self._warn_offline(exc)  # the offline load converges over what was written
            return False
        finally:
            if keep_running and done:
                self._kept(prepared)
            else:
                live.stop_servers(folder)
        return True

    def _warn_offline(self, exc: Exception) -> None:
        self.stderr.write(self.style.WARNING(
            f"WARNING: the live demo could not run ({type(exc).__name__}: {exc}).\n"
            "Loading the offline demo instead: the same register, written directly "
            "through the sync without servers."))

    def _kept(self, prepared: live.Prepared) -> None:
        env = live.aws_environment(prepared.folder)
        self.stdout.write(
            f"The demo's servers keep running (state in {prepared.folder / 'state.json'}) so "
            "the portal's \"Run now\" can read them; `make demo` stops them with the portal "
            "(or: python manage.py demo_servers stop). A portal started by hand needs "
            f"AWS_SHARED_CREDENTIALS_FILE={env['AWS_SHARED_CREDENTIALS_FILE']} and "
            f"AWS_CONFIG_FILE={env['AWS_CONFIG_FILE']}, and no AWS credentials of its own in "
            "its environment, for the aws sources.")

    def _report(self, run: SyncRun) -> None:
        line = (f"  {run.source.name:<16} {run.status:<9} seen={run.seen} "
                f"created={run.created} updated={run.updated} unchanged={run.unchanged} "
                f"missing={run.missing}")
        self.stdout.write(line if run.status == "succeeded" else
                          self.style.WARNING(f"{line} {run.error[:300]}"))

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
        """One login per role, reset to the demo password; the owner login is a Person.
        Logins whose role requires MFA get the demo's fixed TOTP and recovery codes."""
        User = get_user_model()  # noqa: N806
        self._factors = {}
        for role, (email, password) in LOGINS.items():
            user, _ = User.objects.get_or_create(username=email, defaults={"email": email})
            user.email, user.is_active = email, True
            user.is_staff = user.is_superuser = role == "admin"
            if not user.check_password(password):
                user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            if role in settings.NHIGOV_MFA_REQUIRED_ROLES:  # MFA stays on in the demo
                self._factors[role] = enrol_demo_user(user)
        owner = Person.objects.get(email=demo.OWNER_EMAIL)
        if owner.user_id is None:
            owner.user = User.objects.get(username=LOGINS["owner"][0])
            owner.save(update_fields=["user"])

    def _sources(self, configs: dict[str, dict]) -> tuple[dict[str, Source], set[str]]:
        """The demo sources with `configs` (created, or updated with an audit event);
        and the names of those that switched between offline and live data."""
        offline = {name: config for name, _, config in demo.SOURCES}
        sources, switched = {}, set()
        for name, kind, _ in demo.SOURCES:
            source = Source.objects.filter(name=name).first()
            if source is None:
                source = Source(name=name, kind=kind, config=configs[name],
                                schedule="0 * * * *")
                save_source(source, None, ACTOR, "demo data")
            elif source.config != configs[name]:
                if (source.config == offline[name]) != (configs[name] == offline[name]):
                    switched.add(name)
                before = snapshot(source)
                source.config = configs[name]
                save_source(source, before, ACTOR, "demo data: where the demo's servers run")
            sources[name] = source
        return sources, switched

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
        register = Identity.objects.exclude(status="missing")
        orphaned = register.filter(technical_owner=None, business_owner=None).count()
        dormant = register.filter(last_used_at__lt=now - timedelta(days=90)).count()
        missing = Identity.objects.filter(status="missing").count()
        self.stdout.write(self.style.SUCCESS(
            f"Demo register: {register.count()} identities, {orphaned} with no owner, "
            f"{dormant} dormant 90+ days, "
            f"{register.filter(interactive_login=True).count()} with interactive login"
            + (f", {missing} missing (kept from an earlier data set)" if missing else "")
            + f" ({seconds:.1f}s)."
        ))
        self.stdout.write("\nDemo logins (http://127.0.0.1:8000/):")
        for role, (email, password) in LOGINS.items():
            self.stdout.write(f"  {role:<8} {email:<28} {password}")
        factors = getattr(self, "_factors", {})
        if factors:  # nhigov.lib.mfa_demo: fixed values, reset on every run
            self.stdout.write("\nSecond factor for " + " and ".join(factors) + " (required): "
                              "add the TOTP secret to an authenticator app, or type a "
                              "recovery code instead of the app's code.")
            for role, factor in factors.items():
                self.stdout.write(f"  {role:<8} TOTP {factor.secret}   recovery codes "
                                  f"{' '.join(factor.recovery_codes)}\n           {factor.uri}")
