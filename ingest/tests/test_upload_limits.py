"""The report size limit holds before and while the body is read: nothing past it reaches the disk."""

from __future__ import annotations

import pytest
from django.core.files.uploadhandler import FileUploadHandler
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from evidence import storage
from ingest.models import ResultUpload

pytestmark = pytest.mark.django_db
MB = 1024 * 1024
RECEIVED: list[int] = []


class Recording(FileUploadHandler):
    """Just before Django's handlers (which write a file past FILE_UPLOAD_MAX_MEMORY_SIZE to disk): counts the
    bytes handed on to them. The portal's limiter goes before it."""

    def receive_data_chunk(self, raw_data, start):
        RECEIVED.append(len(raw_data))
        return raw_data

    def file_complete(self, file_size):
        return None


@pytest.fixture
def limited(settings):
    settings.MLSEC_MAX_RESULTS_MB = 1
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # a report of a megabyte goes to a temporary file
    settings.FILE_UPLOAD_HANDLERS = ["ingest.tests.test_upload_limits.Recording", *settings.FILE_UPLOAD_HANDLERS]
    RECEIVED.clear()


@pytest.fixture
def client(org, ingest_key, token_client):
    return token_client(ingest_key())


def report(size: int) -> bytes:
    head = b'{"version": "2.1.0", "runs": [], "pad": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def post(client, org, body: bytes, **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    form = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile("big.sarif", body), "format": "sarif"})
    return client.generic("POST", f"/api/v1/projects/{org.project.pk}/results/", form, content_type=MULTIPART_CONTENT,
                          **extra)


def stored_nothing() -> bool:
    folder = storage.root() / "pipeline-results"
    return not ResultUpload.objects.exists() and not (folder.exists() and any(folder.iterdir()))


def test_a_declared_length_past_the_limit_is_a_413_before_a_byte_is_read(org, client, limited):
    response = post(client, org, report(3 * MB))
    assert response.status_code == 413, response.content
    assert "1 MB" in response.json()["file"][0]
    assert sum(RECEIVED) == 0 and stored_nothing()


def test_a_file_passing_the_limit_within_the_declared_room_is_stopped_while_it_streams(org, client, limited):
    body = report(MB + 20 * 1024)  # the form's length is within the limit's room for other fields: read, then stopped
    response = post(client, org, body)
    assert response.status_code == 413, response.content
    assert sum(RECEIVED) <= MB < len(body) and stored_nothing()


def test_a_body_without_a_length_is_read_as_empty(org, client, limited):
    response = post(client, org, report(2 * MB), CONTENT_LENGTH="")  # as a chunked body arrives through WSGI
    assert response.status_code == 400 and sum(RECEIVED) == 0 and stored_nothing()


def test_a_report_within_the_limit_is_accepted(org, client, limited):
    response = post(client, org, report(MB - 1024))
    assert response.status_code == 202, response.content
    assert sum(RECEIVED) == MB - 1024
