from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    verbose_name = "Pages"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_install_schedules, sender=self)


def _install_schedules(sender, using="default", **kwargs) -> None:
    from mlsec_portal.schedules import ensure_default_schedules

    ensure_default_schedules(using=using)
