"""Sign the audit chain's current end now (beat does it every AUDIT_CHECKPOINT_SECONDS)."""

from django.core.management.base import BaseCommand, CommandError

from nhigov.lib.audit import make_checkpoint, verify_chain
from nhigov.models import AuditCheckpoint, AuditEvent


class Command(BaseCommand):
    help = "Write a signed checkpoint over the audit chain's newest event."

    def handle(self, *args, **options) -> None:
        checkpoint = make_checkpoint()
        if checkpoint is not None:
            self.stdout.write(self.style.SUCCESS(
                f"Checkpoint {checkpoint.id}: {checkpoint.event_count} events up to event "
                f"{checkpoint.last_event_id}, {checkpoint.algorithm} "
                f"key {checkpoint.key_id[:16]}."))
            return
        if not AuditEvent.objects.exists():
            self.stdout.write("The audit log is empty: nothing to sign.")
            return
        latest = AuditCheckpoint.objects.order_by("-last_event_id").first()
        start = latest.last_event_id if latest else None  # as make_checkpoint checks
        report = verify_chain(start_id=start)
        if not report.ok:
            raise CommandError(f"Not signed: event {report.first_bad_id}: {report.reason}")
        self.stdout.write(f"No event since checkpoint {latest.id}: nothing new to sign.")
