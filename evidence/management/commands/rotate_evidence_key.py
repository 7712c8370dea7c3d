from django.core.management.base import BaseCommand

from audit.services import audit_record
from evidence import storage
from evidence.models import Evidence
from reports.models import Report


class Command(BaseCommand):
    help = ("Re-encrypt every stored evidence file and report with the FIRST key of MLSEC_EVIDENCE_KEY. Put the new "
            "key first, keep the old one after it, run this, then remove the old key (docs/operations.md).")

    def handle(self, *args, **options):
        files = reports = 0
        for name in Evidence.objects.exclude(storage_name="").values_list("storage_name", flat=True).iterator():
            storage.rotate(name)
            files += 1
        for name in Report.objects.exclude(storage_name="").values_list("storage_name", flat=True).iterator():
            storage.rotate(name, framed=True)
            reports += 1
        audit_record(actor=None, action="evidence.rotate_key", object_type="evidence", object_id="*",
                     after={"evidence_files": files, "reports": reports})
        self.stdout.write(f"re-encrypted {files} evidence files and {reports} reports with the first key")
