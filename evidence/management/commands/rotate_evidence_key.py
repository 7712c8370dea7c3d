from django.core.management.base import BaseCommand

from audit.services import audit_record
from evidence import storage
from evidence.models import Evidence
from notifications.models import TeamChannel
from reports.models import Report


class Command(BaseCommand):
    help = ("Re-encrypt every stored evidence file, report and notification channel with the FIRST key of MLSEC_EVIDENCE_KEY. Put the new "
            "key first, keep the old one after it, run this, then remove the old key (docs/operations.md).")

    def handle(self, *args, **options):
        files = reports = 0
        for name in Evidence.objects.exclude(storage_name="").values_list("storage_name", flat=True).iterator():
            storage.rotate(name)
            files += 1
        for name in Report.objects.exclude(storage_name="").values_list("storage_name", flat=True).iterator():
            storage.rotate(name, framed=True)
            reports += 1
        channels = 0
        for channel in TeamChannel.objects.all().iterator():  # webhook URLs and signing secrets (docs/workflow.md)
            channel.url_encrypted = storage.encrypt(storage.decrypt(bytes(channel.url_encrypted)))
            if channel.secret_encrypted:
                channel.secret_encrypted = storage.encrypt(storage.decrypt(bytes(channel.secret_encrypted)))
            channel.save(update_fields=["url_encrypted", "secret_encrypted"])
            channels += 1
        audit_record(actor=None, action="evidence.rotate_key", object_type="evidence", object_id="*",
                     after={"evidence_files": files, "reports": reports, "notification_channels": channels})
        self.stdout.write(f"re-encrypted {files} evidence files, {reports} reports and {channels} notification "
                          "channels with the first key")
