"""Import identities from a CSV or JSON file: the same code path as the import page."""

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.importer import import_file, max_bytes
from nhigov.lib.audit import Actor


class Command(BaseCommand):
    """manage.py import_identities PATH --source NAME: prints counts, or every error."""

    help = "Import identities from a CSV or JSON file into a file source (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="CSV (header row) or JSON file.")
        parser.add_argument("--source", required=True, help="Name of the file source.")
        parser.add_argument("--format", choices=["csv", "json"],
                            help="Default: from the extension, else from the content.")

    def handle(self, *args, path: Path, source: str, format: str | None, **options) -> None:
        try:
            with path.open("rb") as stream:
                data = stream.read(max_bytes() + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        # Who ran it, as far as the shell knows: the audit log names the operator.
        actor = Actor.system(f"manage.py import_identities ({getpass.getuser()})")
        result = import_file(data, file_name=path.name, source_name=source, actor=actor,
                             fmt=format)
        if not result.ok:
            for error in result.errors:
                field = f" [{error.field}]" if error.field else ""
                self.stderr.write(f"{error.where}{field}: {error.message}")
            raise CommandError(f"{len(result.errors)} error(s) in {path.name}; nothing was "
                               "imported.")
        s = result.summary()
        self.stdout.write(
            f"Imported {s['rows']} rows from {s['file_name']} into source {s['source']!r}: "
            f"{s['created']} created, {s['updated']} updated, {s['unchanged']} unchanged.")
        if result.people_created:
            self.stdout.write(f"People created: {', '.join(result.people_created)}")
