"""Walk the audit chain, check every signed checkpoint, name the first altered or missing
event; or print the public key an auditor needs to do the same offline."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from nhigov.lib.audit import verify_chain
from nhigov.lib.audit_signing import load_public_key, public_key_pem


class Command(BaseCommand):
    help = ("Verify the hash chain of the audit log and its signed checkpoints; exits non-zero "
            "at the first altered or missing event.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--start", type=int, help="First event id of a segment to verify.")
        parser.add_argument("--end", type=int, help="Last event id of a segment to verify.")
        parser.add_argument("--public-key", action="append", default=[], metavar="PEM_FILE",
                            help="Ed25519 public key to verify checkpoints with (repeatable: "
                                 "keys rotated out, or an auditor's own copy).")
        parser.add_argument("--print-public-key", action="store_true",
                            help="Print the checkpoint signing public key (PEM) and exit.")

    def handle(self, *args, **options) -> None:
        if options["print_public_key"]:
            pem = public_key_pem()
            if pem is None:
                raise CommandError("AUDIT_SIGNING_KEY_FILE is not set: checkpoints are signed "
                                   "with an HMAC key, which has no public half to export.")
            self.stdout.write(pem, ending="")
            return
        keys = [self._read(path) for path in options["public_key"]]
        report = verify_chain(options["start"], options["end"], public_keys=keys)
        signed = sum(1 for cp in report.checkpoints if cp.verified)
        if not report.ok:
            where = f"event {report.first_bad_id}" if report.first_bad_id else "a checkpoint"
            raise CommandError(f"Audit chain broken at {where}: {report.reason} "
                               f"({report.checked} events verified before it)")
        self.stdout.write(self.style.SUCCESS(
            f"Audit chain intact: {report.checked} events, {signed} signed checkpoints verified."))

    def _read(self, path: str) -> bytes:
        try:
            pem = Path(path).read_bytes()
            load_public_key(pem)  # a wrong file is the auditor's typo, not a traceback
        except (OSError, ValueError) as exc:
            raise CommandError(f"--public-key {path}: {exc}") from None
        return pem
