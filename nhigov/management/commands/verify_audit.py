"""Walk the audit chain and name the first altered or missing event."""

from django.core.management.base import BaseCommand, CommandError

from nhigov.lib.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the audit log; exits non-zero at the first broken link."

    def handle(self, *args, **options) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at event {report.first_bad_id}: {report.problem} "
                f"({report.checked} events verified before it)"
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events."))
