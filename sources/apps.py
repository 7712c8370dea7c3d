from django.apps import AppConfig


class SourcesConfig(AppConfig):
    """Where a project's code, models and data live (Git, S3, MLflow, a team directory, an endpoint),
    and the models and datasets found there (the inventory)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "sources"
    verbose_name = "Sources and assets"

    def ready(self) -> None:
        from assessments.signals import check_targets_changed

        check_targets_changed.connect(_mirror_check_targets, dispatch_uid="sources-mirror-check-targets")
        from evidence import rotation

        # Credentials are sealed with the evidence keys (sources/crypto.py): key rotation re-seals them.
        rotation.register_sealed("source_credentials", "source credentials", _reseal_credentials)


def _reseal_credentials() -> int:
    from evidence.rotation import reseal_field

    from .models import Source

    return reseal_field(Source.objects.all(), "credential_encrypted")


def _mirror_check_targets(sender, project, **kwargs) -> None:
    """A project's `check_targets` are mirrored into its sources, in the transaction of the project's write."""
    from .services import mirror_check_targets

    mirror_check_targets(project)
