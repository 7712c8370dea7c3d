"""Decisions an officer cannot take lightly: accepting expired evidence, rejecting a risk without a word."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from assessments import services as assessment_services
from assessments.models import RiskAcceptance
from audit.models import AuditEvent
from controls.models import Practice
from evidence import services as evidence_services
from evidence.models import Evidence


@pytest.fixture
def expired(org):
    return Evidence.objects.create(project=org.project, practice=Practice.objects.get(code="MLS-08"), kind="note",
                                   title="Pen test report 2025", text="External test of the serving API.",
                                   uploaded_by=org.lead, valid_until=timezone.localdate() - dt.timedelta(days=1))


@pytest.fixture
def proposal(org):
    return RiskAcceptance.objects.create(
        project=org.project, practice=Practice.objects.get(code="MLS-15"), proposed_by=org.lead,
        justification="Flow logs arrive with the platform migration next quarter.",
        expires_on=timezone.localdate() + dt.timedelta(days=60))


def test_accepting_evidence_that_has_already_expired_is_refused(org, expired):
    with pytest.raises(ValidationError, match="expired on"):
        evidence_services.evidence_review(actor=org.officer, evidence=expired, status="accepted", note="Fine.")
    expired.refresh_from_db()
    assert expired.status == "pending" and expired.reviewed_by is None
    assert not AuditEvent.objects.filter(action="evidence.accepted").exists()


def test_expired_evidence_can_still_be_rejected(org, expired):
    evidence_services.evidence_review(actor=org.officer, evidence=expired, status="rejected", note="Out of date.")
    expired.refresh_from_db()
    assert expired.status == "rejected"


def test_evidence_valid_until_today_can_be_accepted(org, expired):
    Evidence.objects.filter(pk=expired.pk).update(valid_until=timezone.localdate())
    expired.refresh_from_db()
    evidence_services.evidence_review(actor=org.officer, evidence=expired, status="accepted")
    expired.refresh_from_db()
    assert expired.status == "accepted"


def test_the_api_answers_400_when_expired_evidence_is_accepted(org, api, expired):
    response = api(org.officer).post(f"/api/v1/evidence/{expired.pk}/review/", {"status": "accepted"}, format="json")
    assert response.status_code == 400 and "expired on" in response.json()["status"][0]


def test_the_evidence_page_offers_no_accept_for_expired_evidence(org, client, expired):
    client.force_login(org.officer)
    content = client.get(f"/evidence/{expired.pk}/").content.decode()
    assert 'value="accepted"' not in content and 'value="rejected"' in content
    assert "cannot be accepted" in content
    response = client.post(f"/evidence/{expired.pk}/review/", {"status": "accepted", "note": ""})
    assert any("expired on" in str(m) for m in get_messages(response.wsgi_request))
    expired.refresh_from_db()
    assert expired.status == "pending"


def test_rejecting_a_risk_acceptance_requires_a_note(org, proposal):
    for note in ("", "   "):
        with pytest.raises(ValidationError) as exc:
            assessment_services.acceptance_decide(actor=org.officer, acceptance=proposal, status="rejected", note=note)
        assert "decision_note" in exc.value.message_dict
    proposal.refresh_from_db()
    assert proposal.status == "proposed" and proposal.decided_by is None


def test_the_api_answers_400_for_a_rejection_without_a_note(org, api, proposal):
    response = api(org.officer).patch(f"/api/v1/risk-acceptances/{proposal.pk}/", {"status": "rejected"}, format="json")
    assert response.status_code == 400 and "decision_note" in response.json()
    response = api(org.officer).patch(f"/api/v1/risk-acceptances/{proposal.pk}/",
                                      {"status": "rejected", "decision_note": "Compensating control is missing."},
                                      format="json")
    assert response.status_code == 200 and response.json()["decided_by"] == "officer"


def test_approving_a_risk_acceptance_needs_no_note(org, proposal):
    assessment_services.acceptance_decide(actor=org.officer, acceptance=proposal, status="approved")
    proposal.refresh_from_db()
    assert proposal.status == "approved"


def test_the_team_sees_the_decision_the_decider_and_the_note(org, client, proposal):
    assessment_services.acceptance_decide(actor=org.officer, acceptance=proposal, status="rejected",
                                          note="Egress allow-lists are not in place yet; propose again after them.")
    client.force_login(org.lead)
    content = client.get(f"/projects/{org.project.pk}/").content.decode()
    assert '<div class="decision" data-decision="rejected"><strong>Rejected by officer</strong>' in content
    assert "Egress allow-lists are not in place yet; propose again after them." in content


def test_the_decide_form_on_the_page_refuses_a_rejection_without_a_note(org, client, proposal):
    client.force_login(org.officer)
    response = client.post(f"/risk-acceptances/{proposal.pk}/decide/", {"status": "rejected", "note": ""})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Say why the risk is not accepted: the team reads this note."]
    proposal.refresh_from_db()
    assert proposal.status == "proposed"
