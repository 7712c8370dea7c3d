from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "checks"
    verbose_name = "Automated checks"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import system_checks  # noqa: F401  (registers the start-up checks)
        from .signals import sync_after_migrate

        post_migrate.connect(sync_after_migrate, sender=self)
