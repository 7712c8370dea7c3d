"""Daily digests and preferences, with the clock moved (time-machine): held mail goes out once a day as one
message per person; `off` sends no mail; the daily reminders fire on the right days."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from notifications.choices import OutboxStatus
from notifications.models import Notification, OutboxMessage
from notifications.outbox import send_digests
from notifications.reminders import send_daily_reminders
from notifications.services import preferences_update

from .helpers import note_evidence, submitted_assessment

UTC = dt.UTC
MONDAY_9 = dt.datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def mail(smtp_sink, settings):
    smtp_sink.configure_django(settings)
    return smtp_sink


def test_a_digest_folds_a_days_news_into_one_mail_sent_once(org, mail, django_capture_on_commit_callbacks):
    preferences_update(user=org.officer, choices={"assessment.submitted": "digest"})
    with time_machine.travel(MONDAY_9, tick=False), django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org, cycle="2027-Q1")
        submitted_assessment(org, cycle="2027-Q2")
    assert mail.messages == []
    assert OutboxMessage.objects.filter(status=OutboxStatus.HELD).count() == 2
    with time_machine.travel(MONDAY_9 + dt.timedelta(hours=23), tick=False):  # Tuesday 08:00, the digest job
        assert send_digests() == 1
        assert send_digests() == 0  # a second run folds nothing twice
    [digest] = mail.wait_for(1)
    assert list(digest.rcpt_tos) == ["officer@example.org"]
    assert digest.subject == "[MLSec Portal] 2 notifications since your last digest"
    assert "2027-03-01 09:00 UTC · Card fraud scorer 2027-Q1 submitted for review" in digest.body
    assert "2027-Q2 submitted for review" in digest.body
    assert set(OutboxMessage.objects.filter(folded_into__isnull=False).values_list("status", flat=True)) == {"digested"}


def test_a_digest_held_back_by_a_mail_outage_still_goes_out_once(org, mail):
    preferences_update(user=org.officer, choices={"assessment.submitted": "digest"})
    submitted_assessment(org)
    mail.fail_next(1)
    assert send_digests() == 1
    assert mail.messages == []
    from notifications.outbox import deliver_due

    with time_machine.travel(dt.datetime.now(UTC) + dt.timedelta(minutes=2), tick=False):
        assert deliver_due() == 1
        assert deliver_due() == 0
    assert len(mail.wait_for(1)) == 1


def test_off_sends_no_mail_but_keeps_the_list(org, mail, django_capture_on_commit_callbacks):
    preferences_update(user=org.officer, choices={"assessment.submitted": "off"})
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)
    assert not OutboxMessage.objects.exists() and mail.messages == []
    assert Notification.objects.filter(recipient=org.officer).count() == 1


def test_expiry_reminders_fire_on_the_right_days(org, mail, settings):
    settings.MLSEC_EVIDENCE_REMINDER_DAYS = 14
    with time_machine.travel(MONDAY_9, tick=False):
        note_evidence(org, uploader=org.lead, valid_until=dt.date(2027, 3, 20))
    sent = {}
    for day in range(0, 25):
        with time_machine.travel(MONDAY_9 + dt.timedelta(days=day), tick=False):
            if send_daily_reminders():
                sent[(MONDAY_9 + dt.timedelta(days=day)).date()] = [m.subject for m in mail.messages[len(
                    sum(sent.values(), [])):]]
    # 14 days before the end: "expires"; the day after the last valid day: "expired"; never again.
    assert list(sent) == [dt.date(2027, 3, 6), dt.date(2027, 3, 21)]
    assert "expires on 2027-03-20" in sent[dt.date(2027, 3, 6)][0]
    assert "Evidence expired" in mail.wait_for(2)[1].subject


QUERIES_TO_FOLD_ONE_DIGEST = 11  # the same for 2 parts and for 12


@pytest.mark.parametrize("parts", [2, 12])
def test_folding_a_digest_asks_once_per_person_which_teams_they_still_see(org, mail, parts, django_assert_num_queries):
    """The team check of each held part was one query per part; it is one per person."""
    from notifications.choices import Channel
    from notifications.models import Dispatch

    for n in range(parts):
        dispatch = Dispatch.objects.create(event="assessment.approved", team=org.team, title=f"News {n}", body="-")
        OutboxMessage.objects.create(dispatch=dispatch, channel=Channel.EMAIL, recipient=org.member,
                                     status=OutboxStatus.HELD)
    with django_assert_num_queries(QUERIES_TO_FOLD_ONE_DIGEST):
        assert send_digests() == 1
    assert OutboxMessage.objects.get(dispatch__isnull=True, recipient=org.member).parts.count() == parts

