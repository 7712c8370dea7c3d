from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from frameworks.loader import frameworks_load


class Command(BaseCommand):
    help = "Load the framework data files (frameworks/data) idempotently; load_catalog runs it too."

    def handle(self, *args, **options):
        try:
            results = frameworks_load()
        except (OSError, ValidationError) as exc:
            raise CommandError(f"could not load the frameworks: {' '.join(getattr(exc, 'messages', [str(exc)]))}") from exc
        for counts in results:
            self.stdout.write(
                "{framework}: {requirements_created} requirements created, {requirements_updated} updated, "
                "{requirements_deleted} deleted, {mappings_changed} mappings and {applicability_changed} "
                "applicability rows changed".format(**counts))
