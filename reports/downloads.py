"""An export as a download, for the pages and the API alike."""

from __future__ import annotations

from django.http import StreamingHttpResponse

from mlsec_portal.downloads import harden_download

from . import services
from .models import Report


def download_response(report: Report, *, actor=None) -> StreamingHttpResponse:
    """The decrypted export, streamed frame by frame, as an attachment, once its SHA-256 was checked
    (ValidationError, and the report marked failed, when it no longer matches)."""
    chunks = services.report_verified_chunks(report, actor=actor)
    response = StreamingHttpResponse(chunks, content_type=report.content_type)
    return harden_download(response, report.filename, report.size)
