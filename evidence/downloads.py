"""Evidence as a download, for the pages and the API alike."""

from __future__ import annotations

from django.http import HttpResponse

from mlsec_portal.downloads import harden_download

from . import services
from .models import Evidence


def attachment_response(evidence: Evidence) -> HttpResponse:
    """The decrypted bytes as a download that no browser will render or sniff."""
    data = services.evidence_bytes(evidence)
    response = HttpResponse(data, content_type=evidence.content_type or "application/octet-stream")
    return harden_download(response, evidence.download_name, len(data))
