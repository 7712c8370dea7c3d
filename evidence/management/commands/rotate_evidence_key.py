from django.core.management.base import BaseCommand
from django.db import transaction

from audit.services import audit_record
from evidence import rotation, storage
from evidence.models import Evidence
from identity.crypto import reseal_provider_secrets
from notifications.models import TeamChannel


class Command(BaseCommand):
    help = ("Re-encrypt every stored evidence file, report, pipeline report, source credential, identity provider "
            "secret and notification channel with the FIRST key of MLSEC_EVIDENCE_KEY. Put the new "
            "key first, keep the old one after it, run this, then remove the old key (docs/operations.md).")

    def handle(self, *args, **options):
        counts, nouns = {"evidence_files": 0}, {"evidence_files": "evidence files"}
        for name in Evidence.objects.exclude(storage_name="").values_list("storage_name", flat=True).iterator():
            storage.rotate(name)
            counts["evidence_files"] += 1
        for kind in rotation.registered_files():  # the reports, and any other app's encrypted files
            counts[kind.key], nouns[kind.key] = 0, kind.noun
            for name in kind.names():
                storage.rotate(name, framed=kind.framed)
                counts[kind.key] += 1
        with transaction.atomic(durable=True):  # the sealed rows and their audit event: all re-sealed, or none
            for kind in rotation.registered_sealed():  # source credentials, identity provider secrets, …
                counts[kind.key], nouns[kind.key] = kind.reseal(), kind.noun
            counts["identity_provider_secrets"] = reseal_provider_secrets()
            nouns["identity_provider_secrets"] = "identity provider secrets"  # pragma: allowlist secret (a label)
            channels = 0
            for channel in TeamChannel.objects.all().iterator():  # webhook URLs and signing secrets (docs/workflow.md)
                channel.url_encrypted = storage.encrypt(storage.decrypt(bytes(channel.url_encrypted)))
                if channel.secret_encrypted:
                    channel.secret_encrypted = storage.encrypt(storage.decrypt(bytes(channel.secret_encrypted)))
                channel.save(update_fields=["url_encrypted", "secret_encrypted"])
                channels += 1
            counts["notification_channels"], nouns["notification_channels"] = channels, "notification channels"
            audit_record(actor=None, action="evidence.rotate_key", object_type="evidence", object_id="*", after=counts)
        parts = [f"{count} {nouns[key]}" for key, count in counts.items()]
        self.stdout.write(f"re-encrypted {', '.join(parts[:-1])} and {parts[-1]} with the first key")
