from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from checks.services import sync_check_definitions
from controls.services import CATALOG_FILE, catalog_load
from frameworks.loader import frameworks_load


class Command(BaseCommand):
    # In web, the top of the layers (docs/architecture.md): it loads the catalogue (controls), then links the
    # checks and the frameworks to its practices.
    help = "Load the practice catalogue from its versioned data file (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--path", default=str(CATALOG_FILE), help="catalogue YAML (default: the bundled one)")

    def handle(self, *args, path, **options):
        try:
            counts = catalog_load(path=Path(path))
            sync_check_definitions()  # checks map to practices: link them now that the practices exist
            frameworks = frameworks_load()  # framework requirements map to practices too
        except (OSError, ValidationError, KeyError) as exc:
            raise CommandError(f"could not load the catalogue: {exc}") from exc
        self.stdout.write(
            "catalogue loaded: {practices_created} practices created, {practices_updated} updated, "
            "{mappings_changed} mappings changed, {frameworks} frameworks changed".format(**counts)
        )
        changed = [c["framework"] for c in frameworks if any(v for k, v in c.items() if k != "framework")]
        self.stdout.write(f"framework requirements loaded: {', '.join(changed) or 'nothing changed'}")
