from django.apps import AppConfig


class IngestConfig(AppConfig):
    """Results pushed by the teams' own pipelines: ingest tokens, uploaded reports, their findings, the gate."""

    name = "ingest"
    verbose_name = "Results from pipelines"

    def ready(self):
        from . import schema  # noqa: F401 - registers the OpenAPI description of ingest tokens
