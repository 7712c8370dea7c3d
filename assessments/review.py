"""What a reviewer reads before approving: one compact row per practice (a constant number of queries)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from .choices import AssessmentStatus
from .models import Answer, Assessment


@dataclass
class CheckVerdict:
    definition: object
    latest: object | None  # the latest run of any status (queued, error… say something too)
    verdict: object | None  # the decided run that counts (passed / failed)

    @property
    def failing(self) -> bool:
        return self.verdict is not None and self.verdict.status == "failed"


@dataclass
class ReviewRow:
    answer: Answer
    previous: Answer | None
    checks: list[CheckVerdict] = field(default_factory=list)
    evidence: list = field(default_factory=list)
    today: object = None

    @property
    def practice(self):
        return self.answer.practice

    @property
    def capped(self) -> bool:
        """A failing check holds a level above 1 at 1 (docs/scoring.md)."""
        level = self.answer.level
        return level is not None and level > 1 and any(c.failing for c in self.checks)

    @property
    def change(self) -> str:
        """`+1`, `−2`, `=`, `new`, `now N/A`, `was N/A`, or '' when there is nothing to compare with."""
        if self.previous is None:
            return ""
        before, now = self.previous, self.answer
        if now.not_applicable or before.not_applicable:
            if now.not_applicable and before.not_applicable:
                return "="
            return "now N/A" if now.not_applicable else "was N/A"
        if now.level is None:
            return ""
        if before.level is None:
            return "new"
        delta = now.level - before.level
        return "=" if delta == 0 else f"{delta:+d}".replace("-", "−")

    @property
    def expired(self) -> list:
        return [e for e in self.evidence if e.status != "rejected" and e.valid_until and e.valid_until < self.today]


@dataclass
class ReviewSummary:
    baseline: Assessment | None  # the approved cycle the answers are compared with
    rows: list[ReviewRow]

    @property
    def changed(self) -> int:
        return sum(1 for r in self.rows if r.change not in ("", "="))

    @property
    def capped(self) -> int:
        return sum(r.capped for r in self.rows)

    @property
    def expired(self) -> int:
        return sum(len(r.expired) for r in self.rows)

    @property
    def without_evidence(self) -> int:
        return sum(1 for r in self.rows if not r.evidence and not r.answer.not_applicable)


def baseline_for(assessment: Assessment) -> Assessment | None:
    """The last approval that counted before this one: the current one, or the one this approval superseded.

    An older cycle approved only for the record (its window is empty) is never a baseline.
    """
    before = assessment.reviewed_at or timezone.now()
    return (Assessment.objects.filter(project_id=assessment.project_id, status=AssessmentStatus.APPROVED,
                                      reviewed_at__lt=before)
            .exclude(pk=assessment.pk).exclude(superseded_at=F("reviewed_at"))
            .order_by("-reviewed_at", "-pk").first())


def review_summary(assessment: Assessment) -> ReviewSummary:
    """Seven queries whatever the number of runs, evidence and earlier cycles."""
    from checks.choices import DECIDED_STATUSES
    from checks.models import CheckDefinition, CheckRun
    from evidence.models import Evidence, EvidenceKind

    project_id = assessment.project_id
    baseline = baseline_for(assessment)
    previous = {a.practice_id: a for a in Answer.objects.filter(assessment_id=baseline.pk if baseline else None)}
    runs = CheckRun.objects.defer("findings", "data")  # a row shows status and summary: up to 500 findings each, unread
    latest = {run.definition_id: run for run in runs.filter(project_id=project_id).latest_per_check()}
    verdicts = {run.definition_id: run for run in runs.filter(
        project_id=project_id, status__in=DECIDED_STATUSES, superseded_at__isnull=True).order_by("finished_at", "pk")}
    covering: dict[int, list[CheckVerdict]] = {}
    for definition in CheckDefinition.objects.prefetch_related("practices").order_by("key"):
        verdict = CheckVerdict(definition, latest.get(definition.key), verdicts.get(definition.key))
        for practice in definition.practices.all():
            covering.setdefault(practice.pk, []).append(verdict)
    evidence: dict[int, list] = {}
    for item in (Evidence.objects.current().filter(project_id=project_id).exclude(kind=EvidenceKind.CHECK)
                 .order_by("-created_at", "-pk")):
        evidence.setdefault(item.practice_id, []).append(item)
    today = timezone.localdate()
    rows = [ReviewRow(answer=a, previous=previous.get(a.practice_id), checks=covering.get(a.practice_id, []),
                      evidence=evidence.get(a.practice_id, []), today=today)
            for a in assessment.answers.all()]
    return ReviewSummary(baseline=baseline, rows=rows)
