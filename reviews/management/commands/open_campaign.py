"""Open a review campaign from the command line (the same function as the page and API)."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from nhigov.lib.audit import Actor
from reviews import conf
from reviews.campaigns import ScopeError, open_campaign, open_scheduled


class Command(BaseCommand):
    help = "Open an ad hoc campaign over a register filter, or this period's scheduled one."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="Campaign name (omit with --scheduled).")
        parser.add_argument("--scope", default="", help="Register filter, e.g. privilege=admin")
        parser.add_argument("--due", type=date.fromisoformat, help="Due date, YYYY-MM-DD.")
        parser.add_argument("--scheduled", action="store_true",
                            help="Open this period's scheduled campaign if not open yet.")

    def handle(self, *args, **options):
        if options["scheduled"]:
            campaign = open_scheduled()
            if campaign is None:
                self.stdout.write("Nothing to open: this period's campaign exists or "
                                  "schedules are off.")
                return
        else:
            if not options["name"]:
                raise CommandError("Give a campaign name, or --scheduled.")
            due = options["due"] or timezone.now().date() + timedelta(
                days=conf.get("REVIEWS_DUE_DAYS"))
            try:
                campaign = open_campaign(name=options["name"], scope=options["scope"],
                                         due_date=due, actor=Actor.system("open_campaign"))
            except ScopeError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(f"Opened {campaign.name} ({campaign.code}): {campaign.identity_count} "
                          f"identities, {campaign.task_count} owner tasks, "
                          f"{campaign.triage_count} in triage, due {campaign.due_date}.")
