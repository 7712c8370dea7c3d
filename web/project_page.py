"""The project page: the assessments, checks, evidence, scores, sources and pipeline results of one project.

Composed here, at the top of the layers (docs/architecture.md), so that none of those apps imports another to
show itself beside it. The template stays with the project's other pages (assessments/project_detail.html).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.scope import get_scoped_or_404, scoped_view
from assessments.choices import AcceptanceStatus, AssessmentStatus
from assessments.forms import AcceptanceForm, StartAssessmentForm
from assessments.models import Project, RiskAcceptance
from assessments.views import current_cycle
from checks.models import ArtifactBaseline, BaselineApproval, CheckRun
from evidence.models import Evidence, EvidenceKind
from ingest.pages import project_results_context
from scoring import charts
from scoring.services import project_practice_rows
from sources.views import project_sources_context


@login_required
@scoped_view
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_scoped_or_404(request, Project.objects.select_related("team"), pk=pk)
    assessments = list(
        project.assessments.select_related("submitted_by", "reviewed_by").with_completion().order_by("-created_at")
    )
    current, practice_rows = project_practice_rows(project)
    open_assessment = next((a for a in assessments if a.status != AssessmentStatus.APPROVED), None)
    context = {
        "project": project,
        "current": current,
        "practice_rows": practice_rows,
        "levels": charts.levels_figure([(r.practice.code, r.effective_level, r.answer.target_level if r.answer else None)
                                        for r in practice_rows]),
        "chart_config": charts.chart_config(),
        "assessments": assessments,
        "open_assessment": open_assessment,
        "can_answer": open_assessment is not None and open_assessment.can_be_edited_by(request.user),
        "can_review_open": open_assessment is not None and open_assessment.status == AssessmentStatus.SUBMITTED
        and open_assessment.can_be_reviewed_by(request.user),
        "start_form": StartAssessmentForm(initial={"cycle": current_cycle(), "copy_previous": True}),
        "can_edit": project.can_be_edited_by(request.user),
        "latest_runs": list(CheckRun.objects.filter(project=project).latest_per_check()
                            .select_related("definition").order_by("definition__title")),
        "run_history": list(CheckRun.objects.filter(project=project).select_related("definition")
                            .order_by("-created_at", "-pk")[:15]),
        "baseline": ArtifactBaseline.objects.filter(project=project).select_related("approved_by").first(),
        "baseline_approval": BaselineApproval.objects.filter(project=project).select_related("requested_by").first(),
        "evidence": list(Evidence.objects.current().filter(project=project).exclude(kind=EvidenceKind.CHECK)
                         .select_related("practice", "uploaded_by").order_by("practice__number", "-created_at")),
        "acceptances": list(project.risk_acceptances.select_related("practice", "proposed_by", "approved_by", "decided_by")
                            .order_by("-proposed_at")),
        "acceptance_form": AcceptanceForm(),
        "can_propose": RiskAcceptance(project=project).can_be_proposed_by(request.user) and not project.archived_at,
        "today": timezone.localdate(),
        "can_run_checks": project.can_run_checks(request.user) and not project.archived_at,
        "can_approve_baseline": project.can_approve_baseline(request.user),
        "can_start": project.can_start_assessment(request.user) and not project.archived_at,
        **project_results_context(project),
    }
    for acceptance in context["acceptances"]:
        acceptance.decidable = acceptance.status == AcceptanceStatus.PROPOSED and acceptance.can_be_decided_by(request.user)
    context.update(project_sources_context(project, request.user, current.reviewed_at if current else None))
    return render(request, "assessments/project_detail.html", context)

