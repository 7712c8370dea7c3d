"""Separation of duties that holds: authors never decide on their own work, past members count as members,
nobody manages their own memberships, auditors never write, and final decisions stay final in the admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.choices import OrgRole, TeamRole
from accounts.models import Membership
from accounts.tests.factories import UserFactory
from assessments import services
from assessments.choices import AcceptanceStatus, AssessmentStatus
from assessments.models import RiskAcceptance
from assessments.tests.factories import make_assessment
from controls.models import Practice
from evidence import services as evidence_services


def submitted_by_lead(org):
    assessment = services.assessment_start(actor=org.lead, project=org.project, cycle="2026-Q4")
    for answer in assessment.answers.all():
        services.answer_update(actor=org.lead, answer=answer, level=2)
    return services.assessment_submit(actor=org.lead, assessment=assessment)


def promote_and_remove(org, user):
    """An administrator makes `user` an officer and takes them out of the team: today they belong to nothing."""
    account_services.user_update(actor=org.admin, user=user, org_role=OrgRole.OFFICER)
    account_services.membership_remove(actor=org.admin, team=org.team, user=user)
    user.refresh_from_db()
    assert not Membership.objects.filter(user=user).exists()
    return type(user).objects.get(pk=user.pk)  # a fresh object: no cached memberships


def propose(org, by=None):
    return services.acceptance_propose(actor=by or org.lead, project=org.project, practice=Practice.objects.get(code="MLS-14"),
                                       justification="Federated learning is out of scope until the data platform exists.",
                                       expires_on=timezone.localdate() + dt.timedelta(days=90))


# --- authors never decide on their own work --------------------------------------------------

def test_nobody_approves_or_returns_an_assessment_they_submitted(org):
    assessment = submitted_by_lead(org)
    reviewer = promote_and_remove(org, org.lead)
    with pytest.raises(PermissionDenied):
        services.assessment_approve(actor=reviewer, assessment=assessment)
    with pytest.raises(PermissionDenied):
        services.assessment_return(actor=reviewer, assessment=assessment, comment="Looks fine to me.")
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED


def test_the_submitter_is_refused_even_without_any_membership_record(org):
    assessment = make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)
    assessment.submitted_by = org.officer  # e.g. memberships loaded in bulk and since deleted
    assessment.save(update_fields=["submitted_by"])
    with pytest.raises(PermissionDenied, match="submitted or proposed it themselves"):
        services.assessment_approve(actor=org.officer, assessment=assessment)


def test_nobody_decides_a_risk_acceptance_they_proposed(org):
    acceptance = propose(org)
    decider = promote_and_remove(org, org.lead)
    with pytest.raises(PermissionDenied):
        services.acceptance_decide(actor=decider, acceptance=acceptance, status=AcceptanceStatus.APPROVED)
    acceptance.refresh_from_db()
    assert acceptance.status == AcceptanceStatus.PROPOSED


# --- past members count as members -------------------------------------------------------------

def test_an_officer_who_left_the_team_during_the_cycle_cannot_review_its_assessment(org, api):
    account_services.membership_set(actor=org.admin, team=org.team, user=org.officer, role=TeamRole.MEMBER)
    assessment = submitted_by_lead(org)
    account_services.membership_remove(actor=org.admin, team=org.team, user=org.officer)
    response = api(org.officer).post(f"/api/v1/assessments/{assessment.pk}/approve/", {"comment": "ok"}, format="json")
    assert response.status_code == 403
    response = api(org.officer).post(f"/api/v1/assessments/{assessment.pk}/return/", {"comment": "redo"}, format="json")
    assert response.status_code == 403
    assessment.refresh_from_db()
    assert assessment.status == AssessmentStatus.SUBMITTED


def test_an_officer_who_left_before_the_cycle_began_may_review_it(org):
    from accounts.models import MembershipPeriod

    cycle_start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    MembershipPeriod.objects.create(team=org.team, user=org.officer, role=TeamRole.MEMBER,
                                    started_at=cycle_start - dt.timedelta(days=400),
                                    ended_at=cycle_start - dt.timedelta(days=1))
    assessment = submitted_by_lead(org)
    assert services.assessment_approve(actor=org.officer, assessment=assessment).status == AssessmentStatus.APPROVED


def test_a_membership_that_ended_before_the_cycle_but_after_the_assessment_was_opened_still_counts(org):
    from accounts.models import MembershipPeriod

    assessment = make_assessment(org.project, cycle="2027-Q1", levels=2, status=AssessmentStatus.SUBMITTED)
    MembershipPeriod.objects.create(team=org.team, user=org.officer, role=TeamRole.MEMBER,
                                    started_at=assessment.created_at - dt.timedelta(days=10),
                                    ended_at=assessment.created_at + dt.timedelta(seconds=1))
    with pytest.raises(PermissionDenied):
        services.assessment_approve(actor=org.officer, assessment=assessment)


def test_an_officer_who_was_in_the_team_since_a_proposal_cannot_decide_it(org):
    acceptance = propose(org)
    account_services.membership_set(actor=org.admin, team=org.team, user=org.officer, role=TeamRole.MEMBER)
    account_services.membership_remove(actor=org.admin, team=org.team, user=org.officer)
    with pytest.raises(PermissionDenied):
        services.acceptance_decide(actor=org.officer, acceptance=acceptance, status=AcceptanceStatus.APPROVED)


def test_evidence_is_never_reviewed_by_its_uploader_or_a_past_member(org):
    account_services.membership_set(actor=org.admin, team=org.team, user=org.officer, role=TeamRole.MEMBER)
    evidence = evidence_services.evidence_add(actor=org.officer, project=org.project,
                                              practice=Practice.objects.get(code="MLS-08"), kind="note",
                                              title="Pen-test summary", text="No critical findings.")
    account_services.membership_remove(actor=org.admin, team=org.team, user=org.officer)
    reviewer = type(org.officer).objects.get(pk=org.officer.pk)  # as the next request loads them
    with pytest.raises(PermissionDenied):
        evidence_services.evidence_review(actor=reviewer, evidence=evidence, status="accepted")
    other = UserFactory(username="officer2", org_role=OrgRole.OFFICER)
    assert evidence_services.evidence_review(actor=other, evidence=evidence, status="accepted").status == "accepted"


def test_membership_history_survives_removal_role_changes_and_the_admin(org):
    from accounts.models import MembershipPeriod

    account_services.membership_set(actor=org.admin, team=org.other_team, user=org.nobody, role=TeamRole.MEMBER)
    account_services.membership_set(actor=org.admin, team=org.other_team, user=org.nobody, role=TeamRole.LEAD)
    account_services.membership_remove(actor=org.admin, team=org.other_team, user=org.nobody)
    periods = list(MembershipPeriod.objects.filter(user=org.nobody, team=org.other_team).order_by("started_at", "pk"))
    assert [(p.role, p.ended_at is not None) for p in periods] == [("member", True), ("lead", True)]
    bulk = Membership.objects.bulk_create([Membership(team=org.other_team, user=org.nobody, role=TeamRole.MEMBER)])
    Membership.objects.get(pk=bulk[0].pk).delete()  # a bulk-loaded membership (no period) still leaves one
    assert MembershipPeriod.objects.filter(user=org.nobody, team=org.other_team).count() == 3


# --- nobody manages their own memberships -----------------------------------------------------

def test_officers_cannot_add_or_remove_their_own_memberships_through_the_api(org, api):
    response = api(org.officer).post("/api/v1/teams/fraud/members/", {"user": org.officer.pk, "role": "lead"},
                                     format="json")
    assert response.status_code == 403
    assert not Membership.objects.filter(user=org.officer).exists()
    other = UserFactory(username="officer2", org_role=OrgRole.OFFICER)
    assert api(other).post("/api/v1/teams/fraud/members/", {"user": org.officer.pk, "role": "member"},
                           format="json").status_code == 201
    for path in ("/api/v1/teams/fraud/members/", f"/api/v1/teams/fraud/members/{org.officer.pk}/"):
        response = api(org.officer).delete(path, {"user": org.officer.pk}, format="json")
        assert response.status_code == 403, path
    response = api(org.officer).post("/api/v1/teams/fraud/members/", {"user": org.officer.pk, "role": "lead"},
                                     format="json")
    assert response.status_code == 403  # nor promote themselves
    assert Membership.objects.get(user=org.officer).role == TeamRole.MEMBER


@pytest.fixture
def admin_for(db):
    def make(user):
        user.is_staff, user.is_superuser = True, True
        user.save()
        client = Client()
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        client.force_login(user)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
        return client
    return make


def test_nobody_adds_or_removes_their_own_membership_in_the_admin(org, admin_for):
    client = admin_for(org.officer)
    response = client.post("/admin/accounts/membership/add/", {"team": org.team.pk, "user": org.officer.pk,
                                                               "role": "lead"})
    assert response.status_code == 200 and b"their own team membership" in response.content
    inline = {
        "name": org.team.name, "slug": org.team.slug, "description": "",
        "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0",
        "memberships-0-user": org.officer.pk, "memberships-0-role": "lead", "memberships-0-team": org.team.pk,
    }
    response = client.post(f"/admin/accounts/team/{org.team.pk}/change/", inline)
    assert response.status_code == 200 and b"their own team membership" in response.content
    assert not Membership.objects.filter(user=org.officer).exists()
    own = Membership.objects.create(team=org.team, user=org.officer, role=TeamRole.MEMBER)
    assert client.post(f"/admin/accounts/membership/{own.pk}/delete/", {"post": "yes"}).status_code == 403
    memberships = list(Membership.objects.filter(team=org.team).order_by("pk"))
    inline_delete = {"name": org.team.name, "slug": org.team.slug, "description": "",
                     "memberships-TOTAL_FORMS": str(len(memberships)), "memberships-INITIAL_FORMS": str(len(memberships))}
    for i, m in enumerate(memberships):
        inline_delete.update({f"memberships-{i}-id": m.pk, f"memberships-{i}-team": org.team.pk,
                              f"memberships-{i}-user": m.user_id, f"memberships-{i}-role": m.role})
        if m.pk == own.pk:
            inline_delete[f"memberships-{i}-DELETE"] = "on"
    response = client.post(f"/admin/accounts/team/{org.team.pk}/change/", inline_delete)
    assert response.status_code == 200 and b"their own team membership" in response.content
    assert client.post("/admin/accounts/membership/", {"action": "delete_selected", "_selected_action": [own.pk],
                                                       "post": "yes"}).status_code == 403
    assert Membership.objects.filter(pk=own.pk).exists()


# --- auditors never write ------------------------------------------------------------------------

def test_an_auditor_stays_read_only_whatever_memberships_it_is_given(org, api, tmp_path):
    Membership.objects.create(team=org.team, user=org.auditor, role=TeamRole.LEAD)
    draft = make_assessment(org.project, cycle="2026-Q3", levels=2)
    acceptance = RiskAcceptance.objects.create(
        project=org.project, practice=Practice.objects.get(code="MLS-14"), proposed_by=org.lead,
        justification="Federated learning is out of scope until the data platform exists.",
        expires_on=timezone.localdate() + dt.timedelta(days=90))
    later = (timezone.localdate() + dt.timedelta(days=60)).isoformat()
    writes = [
        ("post", "/api/v1/projects/", {"team": "fraud", "name": "Chargebacks", "slug": "chargebacks"}),
        ("patch", f"/api/v1/projects/{org.project.pk}/", {"risk_tier": "low"}),
        ("post", "/api/v1/assessments/", {"project": org.project.pk, "cycle": "2027-Q1"}),
        ("patch", f"/api/v1/assessments/{draft.pk}/answers/MLS-03/", {"level": 4}),
        ("post", f"/api/v1/assessments/{draft.pk}/submit/", None),
        ("post", "/api/v1/evidence/", {"project": org.project.pk, "practice": "MLS-08", "kind": "note",
                                       "title": "All good", "text": "Trust me."}),
        ("post", "/api/v1/risk-acceptances/", {"project": org.project.pk, "practice": "MLS-15", "expires_on": later,
                                               "justification": "Network monitoring arrives with the platform."}),
        ("patch", f"/api/v1/risk-acceptances/{acceptance.pk}/", {"justification": "Reworded by the auditor, x" * 2}),
        ("post", f"/api/v1/projects/{org.project.pk}/run-checks/", {"checks": ["source-secrets"]}),
        ("post", f"/api/v1/projects/{org.project.pk}/artifact-baseline/", None),
    ]
    page = Client()
    page.force_login(org.auditor)
    response = page.post(f"/projects/{org.project.pk}/edit/", {"name": "Renamed by the auditor", "risk_tier": "low",
                                                              "lifecycle": "production", "data_classification": "public"})
    assert response.status_code == 403
    client = api(org.auditor)
    for method, path, body in writes:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 403, (method, path, response.status_code, getattr(response, "data", None))
    draft.refresh_from_db()
    assert draft.status == AssessmentStatus.DRAFT and draft.answers.get(practice__code="MLS-03").level == 2
    # Auditors do export: that is reading, and stays allowed.
    assert client.post("/api/v1/reports/", {"scope": "team", "team": "fraud", "format": "csv"},
                       format="json").status_code == 202


# --- final decisions stay final in the admin ----------------------------------------------------

def test_a_decided_risk_acceptance_cannot_be_edited_in_the_admin(org, admin_for):
    acceptance = propose(org)
    services.acceptance_decide(actor=org.officer, acceptance=acceptance, status=AcceptanceStatus.APPROVED)
    client = admin_for(org.admin)
    response = client.post(f"/admin/assessments/riskacceptance/{acceptance.pk}/change/", {
        "project": org.project.pk, "practice": acceptance.practice.pk, "expires_on": "2099-12-31",
        "justification": "Accepted for ever, as the administrator sees fit.", "decision_note": "",
    })
    assert response.status_code == 403
    acceptance.refresh_from_db()
    assert acceptance.expires_on < dt.date(2099, 1, 1)


def test_an_approved_assessment_cannot_be_edited_in_the_admin(org, admin_for):
    approved = make_assessment(org.project, cycle="2026-Q3", levels=2, status=AssessmentStatus.APPROVED)
    answer = approved.answers.get(practice__code="MLS-01")
    client = admin_for(org.admin)
    response = client.post(f"/admin/assessments/assessment/{approved.pk}/change/", {
        "project": org.project.pk, "cycle": "2026-Q2",
        "answers-TOTAL_FORMS": "1", "answers-INITIAL_FORMS": "1", "answers-0-id": answer.pk, "answers-0-level": 4,
    })
    assert response.status_code == 403
    approved.refresh_from_db()
    answer.refresh_from_db()
    assert approved.cycle == "2026-Q3" and answer.level == 2


def test_the_review_queue_checks_independence_at_the_same_cost_for_1_and_20_assessments(org, client):
    """Each row asks whether the officer may review it; the membership history is read once."""
    from accounts.tests.factories import TeamFactory
    from assessments.tests.factories import ProjectFactory
    from tests.test_query_counts import count_queries

    def add(n):
        for _ in range(n):
            team = TeamFactory()
            Membership.objects.create(team=team, user=UserFactory(), role=TeamRole.LEAD)
            make_assessment(ProjectFactory(team=team), levels=2, status=AssessmentStatus.SUBMITTED)

    account_services.membership_set(actor=org.admin, team=org.other_team, user=org.officer, role=TeamRole.MEMBER)
    account_services.membership_remove(actor=org.admin, team=org.other_team, user=org.officer)
    client.force_login(org.officer)
    add(1)
    few = count_queries(client, "/review-queue/")
    add(19)
    assert count_queries(client, "/review-queue/") == few


def test_the_migration_recovers_past_memberships_from_the_audit_trail(org):
    """Deployments upgrading from before membership history: removals the trail recorded still count."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    from accounts.models import MembershipPeriod
    from audit.models import AuditEvent
    from audit.services import audit_alone

    account_services.membership_set(actor=org.admin, team=org.team, user=org.officer, role=TeamRole.MEMBER)
    account_services.membership_remove(actor=org.admin, team=org.team, user=org.officer)
    # The team admin's inline records the user id and "user (role) in Team" only.
    audit_alone(actor=org.admin, action="admin:membership.delete", object_type="accounts.membership",
                object_id="999", object_repr=f"{org.nobody} (lead) in {org.other_team}",
                before={"role": "lead", "user": org.nobody.pk})
    removed_at = AuditEvent.objects.get(action="membership.remove").at
    MembershipPeriod.objects.all().delete()  # as before the migration

    migration = importlib.import_module("accounts.migrations.0002_record_membership_periods")
    migration.backfill_periods(apps, SimpleNamespace(connection=connection))
    officer = MembershipPeriod.objects.get(user=org.officer)
    assert officer.team == org.team and officer.ended_at == removed_at
    assert MembershipPeriod.objects.get(user=org.nobody).team == org.other_team
    assert MembershipPeriod.objects.filter(user=org.lead, team=org.team, ended_at__isnull=True).exists()
    reviewer = type(org.officer).objects.get(pk=org.officer.pk)
    assert reviewer.belonged_to(org.team.pk, removed_at - dt.timedelta(days=1))
