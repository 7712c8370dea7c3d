"""The outbox survives outages: retries with backoff, no duplicates, nothing sent for a rolled-back change,
no secret in the log or the audit trail, and no request to an address the SSRF guard refuses."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from notifications.choices import Channel, OutboxStatus
from notifications.models import Dispatch, OutboxMessage, TeamChannel
from notifications.outbox import deliver, deliver_due
from notifications.services import team_channel_create

from .helpers import submitted_assessment, verify_signature

SECRET = "whsec-outbox-0123456789abcdef"  # pragma: allowlist secret


@pytest.fixture
def mail(smtp_sink, settings):
    smtp_sink.configure_django(settings)
    return smtp_sink


def later(minutes: int):
    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False)


def test_a_mail_server_outage_loses_nothing_and_the_retry_sends_exactly_once(org, mail,
                                                                              django_capture_on_commit_callbacks):
    mail.fail_next(2)
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    row = OutboxMessage.objects.get(channel=Channel.EMAIL)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.PENDING, 1, "mail server answered 451")
    assert mail.messages == [] and mail.refused == 1
    assert deliver_due() == 0  # not due yet: the backoff holds it for a minute
    with later(1):
        assert deliver_due() == 0  # the second try meets the outage too
    row.refresh_from_db()
    assert (row.attempts, row.next_attempt_at > timezone.now() + dt.timedelta(minutes=2)) == (2, True)
    with later(4):
        assert deliver_due() == 1
        assert deliver_due() == 0
    [received] = mail.wait_for(1)
    assert list(received.rcpt_tos) == ["officer@example.org"]
    assert received.message["Message-ID"] == f"<{row.key}@mlsec-portal>"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 3)
    assert deliver(row.pk) is False and len(mail.messages) == 1  # a repeated task changes nothing


def test_a_webhook_that_fails_twice_gets_the_same_signed_delivery_three_times_and_one_success(
        org, webhook_receiver, django_capture_on_commit_callbacks):
    team_channel_create(actor=org.lead, team=org.team, kind=Channel.WEBHOOK, name="SOAR",
                        url=webhook_receiver.url("/soar"), secret=SECRET)
    webhook_receiver.fail_next(2, status=503)
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    with later(1):
        deliver_due()
    with later(4):
        deliver_due()
    with later(60):
        assert deliver_due() == 0
    hits = webhook_receiver.wait_for(3)
    assert [h.status for h in hits] == [503, 503, 200]
    assert len({h.headers["X-MLSec-Delivery"] for h in hits}) == 1  # the receiver can drop a repeat
    assert all(verify_signature(h, SECRET) for h in hits)
    assert not verify_signature(hits[0], "another-secret-of-the-same-size")
    assert OutboxMessage.objects.get(channel=Channel.WEBHOOK).status == OutboxStatus.SENT


def test_delivery_gives_up_after_the_configured_attempts(org, webhook_receiver, settings,
                                                         django_capture_on_commit_callbacks):
    settings.MLSEC_NOTIFY_MAX_ATTEMPTS = 2
    team_channel_create(actor=org.lead, team=org.team, kind=Channel.SLACK, name="#fraud",
                        url=webhook_receiver.url("/slack"))
    webhook_receiver.respond_with(410, b"gone")
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    with later(5):
        deliver_due()
    with later(600):
        assert deliver_due() == 0
    row = OutboxMessage.objects.get(channel=Channel.SLACK)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.FAILED, 2, "the receiver answered HTTP 410")
    assert len(webhook_receiver.wait_for(2)) == 2


def test_a_redirect_is_never_followed(org, webhook_receiver, django_capture_on_commit_callbacks):
    team_channel_create(actor=org.lead, team=org.team, kind=Channel.TEAMS, name="Fraud",
                        url=webhook_receiver.url("/teams"))
    webhook_receiver.respond_with(302, b"")
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    assert len(webhook_receiver.wait_for(1)) == 1
    assert OutboxMessage.objects.get(channel=Channel.TEAMS).last_error == "the receiver answered HTTP 302"


def test_a_rolled_back_change_writes_and_sends_nothing(org, mail, django_capture_on_commit_callbacks, monkeypatch):
    # assessment_submit is a top-level action (durable): it fails inside its own transaction, after notifying.
    from assessments import services as assessment_services

    notify = assessment_services.notify

    def notify_then_fail(*args, **kwargs):
        notify(*args, **kwargs)
        raise RuntimeError("the request failed after the submission")

    monkeypatch.setattr(assessment_services, "notify", notify_then_fail)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError, match="after the submission"):
        submitted_assessment(org)
    assert not Dispatch.objects.exists() and not OutboxMessage.objects.exists() and mail.messages == []
    assert not AuditEvent.objects.filter(action="assessment.submit").exists()  # its event went with it


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/hook",
                                 "http://[::ffff:10.0.0.1]:9/x", "http://0x7f000002/x", "file:///etc/passwd",
                                 "http://user:pw@127.0.0.1/x",  # pragma: allowlist secret
                                 "http://[::1", "https://example.com:99999/x", "https://example.com:abc/x"])
def test_a_channel_url_the_ssrf_guard_refuses_is_not_saved(org, url):
    with pytest.raises(ValidationError) as refused:
        team_channel_create(actor=org.lead, team=org.team, kind=Channel.SLACK, name="x", url=url)
    assert "url" in refused.value.message_dict and not TeamChannel.objects.exists()


def test_an_address_refused_after_saving_is_never_contacted(org, webhook_receiver, settings,
                                                           django_capture_on_commit_callbacks):
    team_channel_create(actor=org.lead, team=org.team, kind=Channel.SLACK, name="#fraud",
                        url=webhook_receiver.url("/slack"))
    settings.MLSEC_CHECK_ALLOWED_NETWORKS = []  # production's default: loopback is refused
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    row = OutboxMessage.objects.get(channel=Channel.SLACK)
    assert row.status == OutboxStatus.PENDING and row.last_error.startswith("could not connect")
    assert webhook_receiver.requests == []


def test_no_url_or_secret_reaches_the_log_the_outbox_or_the_audit_trail(org, webhook_receiver, caplog,
                                                                       django_capture_on_commit_callbacks):
    url = webhook_receiver.url("/services/T000/B000/XXXXSECRETPATH")
    channel = team_channel_create(actor=org.lead, team=org.team, kind=Channel.WEBHOOK, name="SOAR", url=url,
                                  secret=SECRET)
    webhook_receiver.fail_next(1, status=500)
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    stored = [OutboxMessage.objects.get(channel=Channel.WEBHOOK).last_error, caplog.text,
              *[str(e.changes) + e.object_repr for e in AuditEvent.objects.all()]]
    for text in stored:
        assert "XXXXSECRETPATH" not in text and SECRET not in text
    channel.refresh_from_db()
    assert b"XXXXSECRETPATH" not in bytes(channel.url_encrypted) and SECRET.encode() not in bytes(channel.secret_encrypted)
    assert "notification #" in caplog.text  # the failure is logged, coarsely


def test_rotating_the_key_keeps_channels_deliverable(org, webhook_receiver, settings,
                                                     django_capture_on_commit_callbacks):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    team_channel_create(actor=org.lead, team=org.team, kind=Channel.WEBHOOK, name="SOAR",
                        url=webhook_receiver.url("/soar"), secret=SECRET)
    settings.MLSEC_EVIDENCE_KEYS = [Fernet.generate_key().decode(), settings.MLSEC_EVIDENCE_KEYS[0]]
    call_command("rotate_evidence_key")
    settings.MLSEC_EVIDENCE_KEYS = settings.MLSEC_EVIDENCE_KEYS[:1]  # the old key is gone
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    [hit] = webhook_receiver.wait_for(1)
    assert hit.status == 200 and verify_signature(hit, SECRET)


def test_a_stalling_receiver_cannot_hold_the_worker(org, webhook_receiver, settings,
                                                    django_capture_on_commit_callbacks):
    import time

    settings.MLSEC_NOTIFY_WEBHOOK_TIMEOUT_S = 1
    team_channel_create(actor=org.lead, team=org.team, kind=Channel.SLACK, name="#fraud",
                        url=webhook_receiver.url("/slow"))
    webhook_receiver.delay_next(1, seconds=4)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    assert time.monotonic() - started < 3.5
    row = OutboxMessage.objects.get(channel=Channel.SLACK)
    assert row.status == OutboxStatus.PENDING and row.last_error == "could not connect"


def test_team_controlled_names_cannot_ping_a_slack_channel_or_break_a_mail_header(org, mail, webhook_receiver,
                                                                                  django_capture_on_commit_callbacks):
    org.project.name = "Scorer <!channel>\r\nBcc: victim@example.org"
    org.project.save(update_fields=["name"])
    team_channel_create(actor=org.lead, team=org.team, kind=Channel.SLACK, name="#fraud",
                        url=webhook_receiver.url("/slack"))
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    [received] = mail.wait_for(1)
    assert list(received.rcpt_tos) == ["officer@example.org"] and "Bcc" not in received.message.keys()
    payload = webhook_receiver.wait_for(1)[0].json()
    blocks = payload["blocks"]
    assert "<!channel>" not in str(blocks) and "&lt;!channel&gt;" in blocks[0]["text"]["text"]
    assert "<!channel>" not in payload["text"]  # the fallback and push text too


def test_mail_queued_for_someone_who_has_since_left_the_team_is_not_sent(org, mail,
                                                                        django_capture_on_commit_callbacks):
    from accounts.models import Membership

    mail.fail_next(5)  # the approval's mails wait in the outbox behind an outage
    with django_capture_on_commit_callbacks(execute=True):
        from .helpers import approved_assessment

        approved_assessment(org)
    queued = OutboxMessage.objects.filter(channel=Channel.EMAIL, dispatch__event="assessment.approved")
    assert {m.recipient for m in queued} >= {org.lead, org.member}
    Membership.objects.filter(team=org.team, user=org.member).delete()  # deprovisioned meanwhile
    mail.reset()  # the mail server is back
    with later(30):
        deliver_due()
    sent_to = {r for m in mail.messages for r in m.rcpt_tos}
    assert org.lead.email in sent_to and org.member.email not in sent_to
    left = queued.get(recipient=org.member)
    assert (left.status, left.last_error) == (OutboxStatus.FAILED, "the recipient no longer sees the team")


def test_a_digest_leaves_out_a_team_its_reader_has_left(org, mail):
    from accounts.models import Membership
    from notifications.outbox import send_digests
    from notifications.services import preferences_update

    from .helpers import approved_assessment

    preferences_update(user=org.member, choices={"assessment.approved": "digest"})
    approved_assessment(org)
    held = OutboxMessage.objects.get(recipient=org.member, status=OutboxStatus.HELD)
    Membership.objects.filter(team=org.team, user=org.member).delete()
    send_digests()
    held.refresh_from_db()
    assert held.status == OutboxStatus.FAILED and held.folded_into is None
    assert org.member.email not in {r for m in mail.messages for r in m.rcpt_tos}


def test_a_teams_card_shows_team_controlled_names_as_text_never_as_markdown(org, webhook_receiver,
                                                                           django_capture_on_commit_callbacks):
    org.project.name = "[Sign in again](https://evil.example/login) **urgent**"
    org.project.save(update_fields=["name"])
    team_channel_create(actor=org.lead, team=org.team, kind=Channel.TEAMS, name="Fraud",
                        url=webhook_receiver.url("/teams"))
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    card = webhook_receiver.wait_for(1)[0].json()["attachments"][0]["content"]
    blocks = card["body"]
    assert {b["type"] for b in blocks} == {"RichTextBlock"}  # TextBlock would read the name as Markdown
    title = blocks[0]["inlines"][0]
    assert title["type"] == "TextRun" and title["text"].startswith("[Sign in again](https://evil.example/login)")
    assert card["actions"][0]["url"].startswith("http")  # the one link is the portal's own


def test_a_digest_retried_after_an_outage_leaves_out_a_team_its_reader_has_left_since(org, mail):
    """Found by review: the team was checked when the digest was folded, not when its retry was sent."""
    from accounts.models import Membership
    from notifications.outbox import send_digests
    from notifications.services import preferences_update

    from .helpers import approved_assessment

    preferences_update(user=org.member, choices={"assessment.approved": "digest"})
    approved_assessment(org)
    mail.fail_next(1)
    assert send_digests() == 1 and mail.messages == []
    Membership.objects.filter(team=org.team, user=org.member).delete()
    with later(120):
        deliver_due()
    assert org.member.email not in {r for m in mail.messages for r in m.rcpt_tos}
    digest = OutboxMessage.objects.get(recipient=org.member, dispatch__isnull=True)
    assert (digest.status, digest.last_error) == (OutboxStatus.FAILED, "the recipient no longer sees the teams of this digest")
