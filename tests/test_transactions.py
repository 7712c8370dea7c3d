"""Top-level actions are durable, composable ones are not, and an audit event lives in its change's
transaction (docs/architecture.md, "Transactions")."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from assessments import services as assessment_services
from assessments.choices import AssessmentStatus
from assessments.models import Project
from assessments.signals import assessment_counted
from assessments.tests.factories import make_assessment
from audit.models import AuditEvent
from audit.services import AuditOutsideTransaction, audit_alone, audit_record

pytestmark = pytest.mark.django_db


def test_a_top_level_action_refuses_to_run_inside_another_transaction(org):
    """Composing a top-level action into another by mistake fails loudly, before it writes anything."""
    with transaction.atomic():
        with pytest.raises(RuntimeError, match="durable atomic block cannot be nested"):
            assessment_services.project_create(actor=org.lead, team=org.team, name="Nested", slug="nested")
    assert not Project.objects.filter(slug="nested").exists()
    assert not AuditEvent.objects.filter(action="project.create", object_repr="Nested").exists()


def test_a_top_level_action_runs_on_its_own(org):
    project = assessment_services.project_create(actor=org.lead, team=org.team, name="Alone", slug="alone")
    assert AuditEvent.objects.filter(action="project.create", object_id=str(project.pk)).count() == 1


def test_audit_record_refuses_to_write_outside_a_transaction(org):
    with pytest.raises(AuditOutsideTransaction, match="test.outside"):
        audit_record(actor=org.admin, action="test.outside", object_type="test", object_id="1")
    assert not AuditEvent.objects.filter(action="test.outside").exists()


def test_in_production_an_event_outside_a_transaction_is_logged_and_kept(org, settings, caplog):
    settings.MLSEC_AUDIT_STRICT, settings.DEBUG = False, False
    with caplog.at_level(logging.ERROR, logger="audit.services"):
        audit_record(actor=org.admin, action="test.outside", object_type="test", object_id="1")
    assert AuditEvent.objects.filter(action="test.outside").count() == 1  # the change committed: keep its trace
    assert "outside the transaction of its change" in caplog.text


def test_an_event_with_no_change_to_join_has_a_transaction_of_its_own(org):
    audit_alone(actor=org.admin, action="test.alone", object_type="test", object_id="1")
    assert AuditEvent.objects.filter(action="test.alone").count() == 1


def test_a_change_rolled_back_leaves_no_audit_event(org):
    """The approval fails after its event is written (a receiver of its signal raises): both go."""
    submitted = make_assessment(org.project, levels=2, status=AssessmentStatus.SUBMITTED)

    def follow_up_fails(**kwargs):
        raise RuntimeError("the follow-up failed")

    assessment_counted.connect(follow_up_fails, dispatch_uid="test.follow_up_fails")
    try:
        with pytest.raises(RuntimeError, match="follow-up failed"):
            assessment_services.assessment_approve(actor=org.officer, assessment=submitted)
    finally:
        assessment_counted.disconnect(dispatch_uid="test.follow_up_fails")
    submitted.refresh_from_db()
    assert submitted.status == AssessmentStatus.SUBMITTED
    assert not AuditEvent.objects.filter(action="assessment.approve", object_id=str(submitted.pk)).exists()
