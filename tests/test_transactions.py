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


def _atomic_of(function) -> transaction.Atomic | None:
    """The Atomic a function is decorated with (`@transaction.atomic…` keeps it in the wrapper's closure)."""
    cells = [cell.cell_contents for cell in getattr(function, "__closure__", None) or ()]
    return next((cell for cell in cells if isinstance(cell, transaction.Atomic)), None)


TOP_LEVEL = {  # called by pages, the API, tasks or commands, never by another service
    "accounts.services": ["user_create", "user_update", "team_create", "team_update", "membership_set",
                          "membership_remove"],
    "accounts.mfa": ["totp_start", "totp_confirm", "recovery_codes_regenerate"],
    "accounts.tokens": ["token_issue", "token_revoke"],
    "identity.services": ["scim_token_create", "scim_token_revoke", "provider_save", "provider_delete",
                          "rule_create", "rule_delete"],
    "identity.invitations": ["invitation_create", "invitation_revoke", "invitation_accept"],
    "assessments.services": ["project_create", "project_update", "project_archive", "assessment_start",
                             "answer_update", "assessment_submit", "assessment_approve", "assessment_return",
                             "acceptance_propose", "acceptance_update", "acceptance_decide"],
    "evidence.services": ["evidence_review"],
    "evidence.sharing": ["evidence_link", "evidence_unlink"],
    "checks.services": ["queue_runs", "baseline_approval_request"],
    "checks.policy_services": ["scan_allowance_create", "scan_allowance_delete", "signing_policy_set"],
    "controls.services": ["practice_create_custom"],
    "notifications.services": ["preferences_update", "team_channel_create", "team_channel_update",
                               "team_channel_delete"],
    "sources.services": ["source_create", "source_update", "source_delete"],
    "sources.assets": ["project_sync_request"],
    "ingest.tokens": ["ingest_token_create", "ingest_token_revoke", "ci_identity_exchange"],
    "actions.services": ["action_promote_check", "action_update"],
    "campaigns.services": ["campaign_launch", "campaign_close"],
    "scoring.services": ["snapshot_scores"],
}
COMPOSABLE = {  # called by other services or signal receivers, inside their transaction
    "accounts.tokens": ["tokens_revoke_all"],
    "identity.rules": ["apply_groups"],
    "checks.services": ["finish_run", "sync_check_definitions"],
    "scoring.rollup": ["rebuild"],
    "frameworks.loader": ["framework_load"],
    "controls.services": ["catalog_load"],  # with the checks and frameworks, in load_catalog's transaction
}


@pytest.mark.parametrize(("module", "kind"), [(m, "top") for m in TOP_LEVEL] + [(m, "composable") for m in COMPOSABLE])
def test_top_level_actions_are_durable_and_composable_ones_are_not(module, kind):
    import importlib

    loaded = importlib.import_module(module)
    names = (TOP_LEVEL if kind == "top" else COMPOSABLE)[module]
    atomics = {name: _atomic_of(getattr(loaded, name)) for name in names}
    assert all(atomics.values()), [name for name, atomic in atomics.items() if atomic is None]
    wrong = [name for name, atomic in atomics.items() if atomic.durable != (kind == "top")]
    assert not wrong, f"{module}: {wrong} should {'' if kind == 'top' else 'not '}be durable"
