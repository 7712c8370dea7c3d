from django.core.management.base import BaseCommand, CommandError

from reports.bundle import verify_bundle
from reports.services import signing_public_key


class Command(BaseCommand):
    help = ("Verify an evidence bundle: every file against the signed manifest, and the signing key against this "
            "portal's (or --fingerprint). Exits 0 only for an untouched bundle.")

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--fingerprint", help="the signing key's fingerprint to trust (default: this portal's)")

    def handle(self, *args, path, fingerprint, **options):
        trusted = fingerprint or signing_public_key()[1]
        report = verify_bundle(path, trusted_fingerprint=trusted)
        for warning in getattr(report, "warnings", []):
            self.stdout.write(f"warning: {warning}")
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"FAIL: {problem}")
            raise CommandError(f"{path}: NOT verified ({len(report.problems)} problem(s))")
        self.stdout.write(f"{path}: verified — {report.files_checked} files match the manifest, signed by "
                          f"{report.fingerprint}")
