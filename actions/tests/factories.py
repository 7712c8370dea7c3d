"""Helpers that walk an assessment through the real services to approval."""

from django.utils import timezone

from assessments import services
from assessments.choices import AssessmentStatus
from assessments.models import Answer
from assessments.tests.factories import make_assessment


def approve_with(org, project, *, cycle="2026-Q4", answers: dict | None = None, level: int = 3):
    """An assessment of `project` answered at `level`, with `answers` {code: {field: value}} on top,
    submitted by the team's lead and approved by the officer: the path a team really takes."""
    assessment = make_assessment(project, cycle=cycle, status=AssessmentStatus.DRAFT, levels=level)
    for code, values in (answers or {}).items():
        Answer.objects.filter(assessment=assessment, practice__code=code).update(**values)
    lead = org.lead if project.team_id == org.team.pk else org.other_lead
    services.assessment_submit(actor=lead, assessment=assessment)
    return services.assessment_approve(actor=org.officer, assessment=assessment)


def finish(project, key, status, findings=()):
    """A run of check `key` on `project` that ends with `status` through the real finish path."""
    from checks.models import CheckRun
    from checks.runners.base import CheckResult, Finding
    from checks.services import finish_run

    run = CheckRun.objects.create(project=project, definition_id=key, status="running", started_at=timezone.now())
    return finish_run(run, CheckResult(status, status, [Finding(**f) for f in findings]))
