from django.apps import AppConfig


class SourcesConfig(AppConfig):
    """Where a project's code, models and data live (Git, S3, MLflow, a team directory, an endpoint),
    and the models and datasets found there (the inventory)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "sources"
    verbose_name = "Sources and assets"
