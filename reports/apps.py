from django.apps import AppConfig


def _stored_exports():
    from .models import Report

    return Report.objects.exclude(storage_name="").values_list("storage_name", flat=True).iterator()


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Exports for auditors"

    def ready(self) -> None:
        from evidence import rotation

        # Stored exports are encrypted with the evidence keys, in frames: key rotation re-encrypts them too.
        rotation.register_files("reports", "reports", _stored_exports, framed=True)
