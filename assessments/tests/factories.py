import factory
from django.utils import timezone

from accounts.tests.factories import TeamFactory
from assessments.choices import AssessmentStatus, RiskTier
from assessments.models import Answer, Assessment, Project
from controls.models import Practice


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Model {n}")
    slug = factory.Sequence(lambda n: f"model-{n}")
    risk_tier = RiskTier.MEDIUM


def make_assessment(project, *, cycle="2026-Q4", status=AssessmentStatus.DRAFT, levels=None, na=(), reviewed_at=None,
                    by=None) -> Assessment:
    """An assessment with one answer per active practice.

    `levels` maps practice code → level (others stay unanswered unless `levels` is an int, which
    answers every practice with that level); `na` lists codes answered not applicable.
    """
    reviewed = reviewed_at or timezone.now()
    if status == AssessmentStatus.APPROVED:  # the newest approval counts: one current approved per project
        Assessment.objects.current_approved().filter(project=project).update(superseded_at=reviewed)
    assessment = Assessment.objects.create(project=project, cycle=cycle, status=status, catalog_version="test",
                                           created_by=by)
    answers = []
    for practice in Practice.objects.active().order_by("number"):
        if practice.code in na:
            answers.append(Answer(assessment=assessment, practice=practice, not_applicable=True,
                                  justification="Not relevant for this system."))
            continue
        level = levels if isinstance(levels, int) else (levels or {}).get(practice.code)
        answers.append(Answer(assessment=assessment, practice=practice, level=level))
    Answer.objects.bulk_create(answers)
    if status == AssessmentStatus.APPROVED:
        assessment.reviewed_at = reviewed
        assessment.submitted_at = reviewed
        assessment.save(update_fields=["reviewed_at", "submitted_at"])
    return assessment
