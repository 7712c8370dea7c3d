"""Every write that can change a score refreshes the rollup of its project, in the writer's transaction.

Model signals catch the services, the admin and the test factories alike. Writes through
`QuerySet.update()` or `bulk_create()` send none: the services that use them call
`scoring.rollup.refresh_projects` after their last write, or send a signal of their own that this module
receives (`checks.signals.verdict_decided`, `evidence.signals.links_carried`), bulk loads run
inside `rollup.deferred()`, and the nightly reconciliation reports anything missed.
"""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from assessments.models import Answer, Assessment, Project, RiskAcceptance
from checks.models import CheckDefinition, CheckRun
from checks.signals import verdict_decided
from evidence.models import Evidence, EvidenceLink
from evidence.signals import links_carried

from . import rollup

SCORED_RUN_STATUSES = ("passed", "failed")
FINISH_FIELDS = {"status", "summary", "findings", "data", "finished_at"}


def _refresh(project_id) -> None:
    rollup.refresh_projects([project_id])


@receiver(post_save, sender=Project, dispatch_uid="rollup-project-saved")
def project_saved(sender, instance, raw=False, **kwargs):
    if not raw:  # created, archived, moved to another team, risk tier changed
        _refresh(instance.pk)


@receiver(post_delete, sender=Project, dispatch_uid="rollup-project-deleted")
def project_deleted(sender, instance, **kwargs):
    rollup.refresh_teams([instance.team_id])


@receiver(post_save, sender=Assessment, dispatch_uid="rollup-assessment-saved")
@receiver(post_delete, sender=Assessment, dispatch_uid="rollup-assessment-deleted")
def assessment_changed(sender, instance, raw=False, **kwargs):
    if not raw and instance.status == "approved":  # drafts, submissions and returns score nothing
        _refresh(instance.project_id)


@receiver(post_save, sender=Answer, dispatch_uid="rollup-answer-saved")
@receiver(post_delete, sender=Answer, dispatch_uid="rollup-answer-deleted")
def answer_changed(sender, instance, raw=False, **kwargs):
    if raw:
        return
    assessment = instance._state.fields_cache.get("assessment")
    if assessment is None:
        assessment = Assessment.objects.filter(pk=instance.assessment_id).only("status", "project_id").first()
    if assessment is not None and assessment.status == "approved":  # only approved answers are scored
        _refresh(assessment.project_id)


@receiver(post_save, sender=CheckRun, dispatch_uid="rollup-run-saved")
def run_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.status not in SCORED_RUN_STATUSES:  # queued, running, error, skipped decide nothing
        return
    if update_fields is not None and FINISH_FIELDS <= set(update_fields):
        return  # checks.services.finish_run: verdict_decided refreshes once, after superseding the previous verdict
    _refresh(instance.project_id)


@receiver(verdict_decided, sender=CheckRun, dispatch_uid="rollup-verdict-decided")
def verdict_was_decided(sender, run, **kwargs):
    _refresh(run.project_id)  # once, after finish_run superseded the previous verdict


@receiver(post_delete, sender=CheckRun, dispatch_uid="rollup-run-deleted")
def run_deleted(sender, instance, **kwargs):
    if instance.status in SCORED_RUN_STATUSES and instance.superseded_at is None:  # a verdict in force
        _refresh(instance.project_id)


@receiver(post_save, sender=Evidence, dispatch_uid="rollup-evidence-saved")
@receiver(post_delete, sender=Evidence, dispatch_uid="rollup-evidence-deleted")
def evidence_changed(sender, instance, raw=False, **kwargs):
    if raw or instance.kind == "check":  # a check's evidence scores through its run
        return
    if instance.project_id:
        _refresh(instance.project_id)
    else:  # shared evidence (a team's or the organisation's) counts for every project it is linked to
        rollup.refresh_projects(sorted(set(EvidenceLink.objects.filter(evidence_id=instance.pk)
                                           .values_list("project_id", flat=True))))


@receiver(post_save, sender=EvidenceLink, dispatch_uid="rollup-evidence-link-saved")
@receiver(post_delete, sender=EvidenceLink, dispatch_uid="rollup-evidence-link-deleted")
def evidence_link_changed(sender, instance, raw=False, **kwargs):
    if not raw:  # linked, or unlinked (unlinked_at set)
        _refresh(instance.project_id)


@receiver(post_save, sender=RiskAcceptance, dispatch_uid="rollup-acceptance-saved")
@receiver(post_delete, sender=RiskAcceptance, dispatch_uid="rollup-acceptance-deleted")
def acceptance_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        _refresh(instance.project_id)


@receiver(links_carried, sender=EvidenceLink, dispatch_uid="rollup-evidence-links-carried")
def evidence_links_carried(sender, project_ids, **kwargs):
    rollup.refresh_projects(project_ids)


@receiver(m2m_changed, sender=CheckDefinition.practices.through, dispatch_uid="rollup-check-coverage")
def coverage_changed(sender, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):  # which practices a check caps and verifies
        rollup.rebuild()
