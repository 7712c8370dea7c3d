"""A real Celery worker delivers the outbox: a committed submission reaches the real SMTP sink through
the broker and a worker process, exactly once."""

from __future__ import annotations

import time

import pytest

from notifications.choices import OutboxStatus
from notifications.models import OutboxMessage
from tests.test_worker_integration import celery_app, start_worker, stop_worker  # noqa: F401 - fixtures

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group(name="celery-worker")]


@pytest.fixture
def mail_worker(celery_app, smtp_sink, tmp_path, monkeypatch):  # noqa: F811 - the imported fixture
    monkeypatch.setenv("MLSEC_TEST_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    for name, value in smtp_sink.environ().items():
        monkeypatch.setenv(name, value)
    process = start_worker(tmp_path, [])
    yield process
    stop_worker(process)


def test_a_worker_delivers_a_committed_submission_to_the_mail_server_once(org, smtp_sink, mail_worker):
    from assessments.services import assessment_submit
    from assessments.tests.factories import make_assessment

    assessment_submit(actor=org.lead, assessment=make_assessment(org.project, levels=3))  # commits: on_commit queues
    [received] = smtp_sink.wait_for(1, timeout=60)
    assert list(received.rcpt_tos) == ["officer@example.org"] and "submitted for review" in received.subject
    deadline = time.monotonic() + 20
    while OutboxMessage.objects.get().status != OutboxStatus.SENT and time.monotonic() < deadline:
        time.sleep(0.2)
    assert OutboxMessage.objects.get().status == OutboxStatus.SENT
    time.sleep(1)
    assert len(smtp_sink.messages) == 1, mail_worker.log.read_text()[-2000:]
