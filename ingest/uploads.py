"""The report size limit, enforced before and while the body is read, never after it is on disk.

`ResultsView` refuses a `Content-Length` past the limit (plus a little room for the form's other
fields) with 413 before reading a byte, and puts `LimitedUploadHandler` first in the request's
upload handlers, before anything (the CSRF check included) parses the body: it counts the file
bytes as they stream in and stops the upload with 413 the moment they pass the limit, so a
chunked body (no `Content-Length`) or a lying multipart one never reaches the disk whole.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from rest_framework import exceptions

FORM_ROOM = 64 * 1024  # the multipart boundaries and the small fields beside the file


def max_result_bytes() -> int:
    return settings.MLSEC_MAX_RESULTS_MB * 1024 * 1024


class ReportTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "report_too_large"

    def __init__(self):
        super().__init__({"file": [f"Reports are limited to {settings.MLSEC_MAX_RESULTS_MB} MB."]})


def refuse_declared_oversize(request) -> None:
    """413 when the body's declared length is already past the limit (nothing is read)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > max_result_bytes() + FORM_ROOM:
        raise ReportTooLarge()


class LimitedUploadHandler(FileUploadHandler):
    """First of the upload handlers: passes chunks on until the files' bytes pass the limit, then 413."""

    def __init__(self, request=None, limit: int | None = None):
        super().__init__(request)
        self.limit = max_result_bytes() if limit is None else limit
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):  # noqa: N803
        if content_length and content_length > self.limit + FORM_ROOM:
            raise ReportTooLarge()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise ReportTooLarge()
        return raw_data

    def file_complete(self, file_size):
        return None


def limit_upload(request) -> None:
    """Before the body is read: refuse a declared oversize, and stream the rest through the limit."""
    refuse_declared_oversize(request)
    django_request = getattr(request, "_request", request)
    if not hasattr(django_request, "_files"):
        django_request.upload_handlers.insert(0, LimitedUploadHandler(django_request))
