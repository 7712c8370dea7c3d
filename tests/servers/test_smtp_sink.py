"""The SMTP sink is a real SMTP server: Django's SMTP backend delivers to it, and it refuses on demand."""

from __future__ import annotations

import smtplib

import pytest
from django.core.mail import EmailMessage, get_connection, send_mail


def test_django_smtp_backend_delivers_a_message_the_sink_parses(smtp_sink, settings):
    smtp_sink.configure_django(settings)

    send_mail("Assessment submitted", "Card fraud scorer was submitted.", "portal@example.test",
              ["officer@example.test", "lead@example.test"])

    [mail] = smtp_sink.wait_for(1)
    assert mail.subject == "Assessment submitted"
    assert mail.body.strip() == "Card fraud scorer was submitted."
    assert mail.mail_from == "portal@example.test"
    assert mail.rcpt_tos == ("officer@example.test", "lead@example.test")
    assert mail.message["To"] == "officer@example.test, lead@example.test"


def test_a_temporary_refusal_fails_the_delivery_and_the_next_attempt_succeeds(smtp_sink, settings):
    smtp_sink.configure_django(settings)
    smtp_sink.fail_next(1)
    message = EmailMessage("Evidence expired", "Renew it.", "portal@example.test", ["lead@example.test"])

    with pytest.raises(smtplib.SMTPDataError) as refused:
        get_connection(fail_silently=False).send_messages([message])
    assert refused.value.smtp_code == 451
    assert smtp_sink.messages == []

    assert get_connection(fail_silently=False).send_messages([message]) == 1
    assert [m.subject for m in smtp_sink.wait_for(1)] == ["Evidence expired"]
    assert smtp_sink.refused == 1


def test_each_test_starts_with_an_empty_sink_that_accepts(smtp_sink):
    assert smtp_sink.messages == [] and smtp_sink.refusals == 0
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        client.sendmail("a@example.test", ["b@example.test"], b"Subject: raw\r\n\r\nbody\r\n")
    assert smtp_sink.wait_for(1)[0].subject == "raw"


def test_waiting_for_mail_that_never_comes_fails_with_a_count(smtp_sink):
    with pytest.raises(AssertionError, match="expected 1 mail"):
        smtp_sink.wait_for(1, timeout=0.2)
