"""Run the review mail cycle once: due reminders and escalations, then send and retry
(what beat runs every few minutes; safe to run while it does)."""

import json

from django.core.management.base import BaseCommand

from reviews.mailing import mail_cycle


class Command(BaseCommand):
    help = "Queue due reminders and escalations, send queued review emails, retry failures."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(mail_cycle()))
