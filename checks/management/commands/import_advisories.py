from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from checks.advisories import import_advisories
from checks.models import Advisory


class Command(BaseCommand):
    help = "Import OSV advisories (the public all.zip export, or a folder of OSV JSON files); idempotent."

    def add_arguments(self, parser):
        parser.add_argument("path", help="all.zip or a directory of *.json OSV records")

    def handle(self, *args, path, **options):
        source = Path(path)
        if not source.exists():
            raise CommandError(f"{path} does not exist")
        run = import_advisories(str(source))
        self.stdout.write(
            f"read {run.records_read} records, stored {run.advisories_stored} PyPI advisories "
            f"({run.errors} unreadable); the portal now holds {Advisory.objects.count()}"
        )
        if run.records_read == 0:
            raise CommandError("no OSV record could be read from this path")
