from django.apps import AppConfig


class IngestConfig(AppConfig):
    """Results pushed by the teams' own pipelines: ingest tokens, uploaded reports, their findings, the gate."""

    name = "ingest"
    verbose_name = "Results from pipelines"

    def ready(self):
        from evidence import rotation

        from . import schema  # noqa: F401 - registers the OpenAPI description of ingest tokens

        # Pushed reports are stored encrypted with the evidence keys, in frames: key rotation re-encrypts them.
        rotation.register_files("pipeline_results", "pipeline reports", _stored_reports, framed=True)


def _stored_reports():
    from .models import ResultUpload

    return ResultUpload.objects.exclude(storage_name="").values_list("storage_name", flat=True).iterator()
