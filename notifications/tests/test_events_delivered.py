"""Every registered event travels through the outbox into a real SMTP server and a real webhook
receiver that checks the HMAC (tests/servers: `smtp_sink`, `webhook_receiver`)."""

from __future__ import annotations

import pytest

from assessments.models import RiskAcceptance
from assessments.services import acceptance_decide, acceptance_propose, assessment_return
from checks.tests.test_services import finish, set_targets
from controls.models import Practice
from evidence.services import evidence_review
from notifications import events
from notifications.choices import Channel, OutboxStatus
from notifications.models import Dispatch, Notification, OutboxMessage
from notifications.outbox import deliver_due
from notifications.reminders import send_daily_reminders
from notifications.services import notify, team_channel_create

from .helpers import approved_assessment, days, note_evidence, submitted_assessment, verify_signature

SECRET = "whsec-test-0123456789abcdef"  # pragma: allowlist secret


@pytest.fixture
def hooked(org, smtp_sink, webhook_receiver, settings):
    """The team's three kinds of channel, all pointed at the receiver; mail goes to the sink."""
    smtp_sink.configure_django(settings)
    for kind in (Channel.SLACK, Channel.TEAMS, Channel.WEBHOOK):
        team_channel_create(actor=org.lead, team=org.team, kind=kind, name=f"{kind} hook",
                            url=webhook_receiver.url(f"/hooks/{kind}"), secret=SECRET if kind == "webhook" else "")
    return org


def mails_to(smtp_sink, count):
    received = smtp_sink.wait_for(count)
    return {(m.rcpt_tos[0], m.subject) for m in received}


def assert_hooks(webhook_receiver, event):
    hits = {h.path: h for h in webhook_receiver.wait_for(3)}
    assert hits["/hooks/slack"].json()["blocks"][0]["type"] == "section"
    assert event in hits["/hooks/slack"].json()["blocks"][2]["elements"][0]["text"]
    card = hits["/hooks/teams"].json()["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    signed = hits["/hooks/webhook"]
    assert signed.json()["event"] == event and verify_signature(signed, SECRET)
    assert signed.headers["X-MLSec-Event"] == event


def test_a_submitted_assessment_reaches_the_officers_and_the_teams_channels(hooked, smtp_sink, webhook_receiver,
                                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assessment = submitted_assessment(hooked)
    assert mails_to(smtp_sink, 1) == {("officer@example.org",
                                       "[MLSec Portal] Card fraud scorer 2026-Q4 submitted for review")}
    assert f"/assessments/{assessment.pk}/" in smtp_sink.messages[0].body
    assert_hooks(webhook_receiver, "assessment.submitted")


def test_an_approval_and_a_return_reach_the_team_but_not_the_reviewer(hooked, smtp_sink, webhook_receiver,
                                                                     django_capture_on_commit_callbacks):
    assessment = approved_assessment(hooked)
    # Deliver only the approval's rows (the submission before it has its own test).
    OutboxMessage.objects.exclude(dispatch__event="assessment.approved").delete()
    deliver_due()
    recipients = {to for to, _ in mails_to(smtp_sink, 2)}
    assert recipients == {"lead@example.org", "member@example.org"}  # not the approving officer
    assert "Well evidenced." in smtp_sink.messages[0].body
    assert_hooks(webhook_receiver, "assessment.approved")
    smtp_sink.reset()
    webhook_receiver.reset()
    second = submitted_assessment(hooked, cycle="2027-Q1")
    OutboxMessage.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assessment_return(actor=hooked.officer, assessment=second, comment="Attach the pen-test report.")
    assert {to for to, _ in mails_to(smtp_sink, 2)} == {"lead@example.org", "member@example.org"}
    assert "Attach the pen-test report." in smtp_sink.messages[0].body
    assert_hooks(webhook_receiver, "assessment.returned")
    assert assessment.pk != second.pk


def test_reviewed_evidence_reaches_its_uploader_and_the_teams_leads(hooked, smtp_sink, webhook_receiver,
                                                                    django_capture_on_commit_callbacks):
    evidence = note_evidence(hooked, uploader=hooked.member)
    with django_capture_on_commit_callbacks(execute=True):
        evidence_review(actor=hooked.officer, evidence=evidence, status="rejected", note="Unsigned.")
    assert mails_to(smtp_sink, 2) == {("member@example.org", "[MLSec Portal] Evidence rejected: Incident tabletop notes"),
                                      ("lead@example.org", "[MLSec Portal] Evidence rejected: Incident tabletop notes")}
    assert_hooks(webhook_receiver, "evidence.reviewed")


@pytest.mark.parametrize("event, valid_until", [("evidence.expiring", 5), ("evidence.expired", -1)])
def test_the_daily_job_announces_expiring_and_expired_evidence_once(hooked, smtp_sink, webhook_receiver, event,
                                                                    valid_until):
    note_evidence(hooked, uploader=hooked.member, valid_until=days(valid_until))
    assert send_daily_reminders() == 1
    assert {to for to, _ in mails_to(smtp_sink, 2)} == {"member@example.org", "lead@example.org"}
    assert_hooks(webhook_receiver, event)
    assert send_daily_reminders() == 0  # the same evidence is never announced twice
    assert len(smtp_sink.messages) == 2


def test_risk_acceptances_are_announced_when_proposed_decided_and_ending(hooked, smtp_sink, webhook_receiver,
                                                                         django_capture_on_commit_callbacks):
    practice = Practice.objects.get(code="MLS-03")
    with django_capture_on_commit_callbacks(execute=True):
        acceptance = acceptance_propose(actor=hooked.lead, project=hooked.project, practice=practice,
                                        justification="Vendor patch lands next quarter; the model is internal.",
                                        expires_on=days(10))
    assert mails_to(smtp_sink, 1) == {("officer@example.org",
                                       "[MLSec Portal] Risk acceptance proposed: Card fraud scorer MLS-03")}
    assert_hooks(webhook_receiver, "acceptance.proposed")
    smtp_sink.reset()
    webhook_receiver.reset()
    with django_capture_on_commit_callbacks(execute=True):
        acceptance_decide(actor=hooked.officer, acceptance=acceptance, status="approved", note="Until the patch.")
    assert mails_to(smtp_sink, 1) == {("lead@example.org",
                                       "[MLSec Portal] Risk acceptance approved: Card fraud scorer MLS-03")}
    assert_hooks(webhook_receiver, "acceptance.decided")
    smtp_sink.reset()
    webhook_receiver.reset()
    assert RiskAcceptance.objects.in_force(days(0)).count() == 1
    assert send_daily_reminders() == 1
    assert "ends on" in mails_to(smtp_sink, 1).pop()[1]
    assert_hooks(webhook_receiver, "acceptance.expiring")


def test_a_check_is_announced_when_it_starts_failing_and_when_it_recovers(hooked, smtp_sink, webhook_receiver,
                                                                          django_capture_on_commit_callbacks):
    set_targets(hooked.project, source_path="/tmp")
    with django_capture_on_commit_callbacks(execute=True):
        finish(hooked.project, "source-secrets", "failed", "1 secret found")
    assert {to for to, _ in mails_to(smtp_sink, 2)} == {"lead@example.org", "officer@example.org"}
    assert "now failing on Card fraud scorer" in smtp_sink.messages[0].subject
    assert_hooks(webhook_receiver, "check.failing")
    smtp_sink.reset()
    webhook_receiver.reset()
    with django_capture_on_commit_callbacks(execute=True):
        finish(hooked.project, "source-secrets", "failed", "still 1 secret")  # no change, no news
        finish(hooked.project, "source-secrets", "passed", "no secrets")
    received = mails_to(smtp_sink, 2)
    assert {to for to, _ in received} == {"lead@example.org", "officer@example.org"}
    assert all("passes again on Card fraud scorer" in subject for _, subject in received)
    assert_hooks(webhook_receiver, "check.recovered")
    assert Dispatch.objects.filter(event="check.failing").count() == 1


class Action:
    """Stands in for the `actions` app's model until it merges: anything with a project and a due date."""

    class _meta:
        label_lower = "actions.action"

    def __init__(self, project, owner, due_on):
        self.pk, self.project, self.owner_id, self.due_on = 7, project, owner.pk, due_on

    def __str__(self):
        return "Add rate limiting to the scoring endpoint"

    def get_absolute_url(self):
        return "/actions/7/"


@pytest.mark.parametrize("event", ["action.due", "action.overdue"])
def test_action_events_reach_the_owner_and_the_leads(hooked, smtp_sink, webhook_receiver, event,
                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(event, obj=Action(hooked.project, hooked.member, days(3)), dedupe_key=f"{event}:7:{days(0)}")
    received = mails_to(smtp_sink, 2)
    assert {to for to, _ in received} == {"member@example.org", "lead@example.org"}
    assert all("Add rate limiting" in subject and f"(due {days(3)})" in subject for _, subject in received)
    assert_hooks(webhook_receiver, event)


class Campaign:
    """Stands in for the `campaigns` app's model (it spans teams: the context names the team)."""

    class _meta:
        label_lower = "campaigns.campaign"

    pk, cycle = 3, "2027-Q1"

    def __str__(self):
        return "Campaign 2027-Q1"


@pytest.mark.parametrize("event", ["campaign.started", "campaign.reminder"])
def test_campaign_news_reaches_the_named_teams_leads_and_channels(hooked, smtp_sink, webhook_receiver, event,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(event, obj=Campaign(), actor=hooked.officer, context={
            "team": "fraud", "cycle": "2027-Q1", "deadline": "2027-03-31", "not_submitted": 1, "path": "/my-work/"})
    [(to, subject)] = mails_to(smtp_sink, 1)
    assert to == "lead@example.org" and "2027-Q1" in subject
    assert_hooks(webhook_receiver, event)


def test_a_campaign_escalation_reaches_the_officers(hooked, smtp_sink, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify("campaign.escalation", obj=Campaign(), context={
            "cycle": "2027-Q1", "deadline": "2027-03-31", "teams_behind": {"fraud": 1}, "path": "/campaigns/3/"})
    [(to, subject)] = mails_to(smtp_sink, 1)
    assert to == "officer@example.org" and subject.endswith("past its deadline")
    assert "- fraud: 1 not submitted" in smtp_sink.messages[0].body


def test_every_registered_event_is_covered_by_a_test_above():
    covered = {"assessment.submitted", "assessment.approved", "assessment.returned", "evidence.reviewed",
               "evidence.expiring", "evidence.expired", "acceptance.proposed", "acceptance.decided",
               "acceptance.expiring", "check.failing", "check.recovered", "action.due", "action.overdue",
               "campaign.started", "campaign.reminder", "campaign.escalation"}
    assert set(events.EVENTS) == covered


def test_each_person_also_finds_the_event_in_the_portal(hooked, django_capture_on_commit_callbacks):
    submitted_assessment(hooked)
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["officer"]
    assert OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count() == 4  # 1 mail + 3 channels


def test_the_operators_organisation_webhook_gets_check_events_signed(org, webhook_receiver, settings,
                                                                     django_capture_on_commit_callbacks):
    settings.MLSEC_WEBHOOK_URL = webhook_receiver.url("/org-hook")
    settings.MLSEC_WEBHOOK_SECRET = SECRET
    set_targets(org.project, source_path="/tmp")
    with django_capture_on_commit_callbacks(execute=True):
        submitted_assessment(org)  # not a check event: the organisation hook is not told
        finish(org.project, "source-secrets", "failed", "1 secret found")
    [hit] = webhook_receiver.wait_for(1)
    assert hit.json()["event"] == "check.failing" and verify_signature(hit, SECRET)
