"""Pages: project form, assessment form, review queue and review (the project page is composed in web.project_page)."""

from __future__ import annotations

from collections import OrderedDict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.duties import is_reviewer
from accounts.models import Membership, Team
from accounts.scope import get_scoped_or_404, scoped, scoped_view
from evidence.models import Evidence, EvidenceKind
from mlsec_portal.api import action_done, error_text, errors_to_form, validation_error_body

from . import services
from .choices import AssessmentStatus
from .forms import AcceptanceForm, AnswerForm, ApproveForm, DecisionForm, ProjectForm, ReturnForm, StartAssessmentForm
from .models import Answer, Assessment, Project, RiskAcceptance
from .review import review_summary


def current_cycle() -> str:
    today = timezone.localdate()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


@login_required
@require_http_methods(["GET", "POST"])
@scoped_view
def project_create(request: HttpRequest, team_slug: str) -> HttpResponse:
    team = get_scoped_or_404(request, Team, slug=team_slug)
    if not team.can_add_project(request.user):
        raise PermissionDenied
    form = ProjectForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(actor=request.user, team=team, **form.service_fields())
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, f"Project {project} created.")
            return redirect("project-detail", pk=project.pk)
    return render(request, "assessments/project_form.html", {"form": form, "team": team, "project": None})


@login_required
@require_http_methods(["GET", "POST"])
@scoped_view
def project_edit(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_scoped_or_404(request, Project.objects.active().select_related("team"), pk=pk)
    if not project.can_be_edited_by(request.user):
        raise PermissionDenied
    form = ProjectForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        fields.pop("slug")
        try:
            services.project_update(actor=request.user, project=project, **fields)
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, "Project saved.")
            return redirect("project-detail", pk=project.pk)
    return render(request, "assessments/project_form.html", {"form": form, "team": project.team, "project": project})


@login_required
@require_POST
@scoped_view
def assessment_start(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_scoped_or_404(request, Project.objects.active(), pk=pk)
    form = StartAssessmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the cycle, e.g. 2026-Q4.")
        return redirect("project-detail", pk=pk)
    try:
        assessment = services.assessment_start(actor=request.user, project=project, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("project-detail", pk=pk)
    messages.success(request, f"Assessment {assessment.cycle} started.")
    return redirect("assessment-form", pk=assessment.pk)


def _assessment_for(request, pk) -> Assessment:
    answers = Answer.objects.select_related("practice", "updated_by").order_by("practice__number")
    return get_scoped_or_404(
        request,
        Assessment.objects
        .select_related("project__team", "submitted_by", "reviewed_by")
        .prefetch_related(Prefetch("answers", queryset=answers)),
        pk=pk,
    )


def _grouped(forms: list[AnswerForm]) -> OrderedDict:
    groups: OrderedDict[str, list[AnswerForm]] = OrderedDict()
    for form in forms:
        groups.setdefault(form.answer.practice.category, []).append(form)
    return groups


@login_required
@require_http_methods(["GET", "POST"])
@scoped_view
def assessment_form(request: HttpRequest, pk: int) -> HttpResponse:
    """The self-assessment: 25 practices by category, rubric beside the level, save draft or submit.

    Whoever cannot edit it (the reviewer, an auditor, the team once it is submitted) gets the compact
    review table instead of 25 disabled forms.
    """
    assessment = _assessment_for(request, pk)
    user = request.user
    editable = assessment.is_editable and assessment.can_be_edited_by(user)
    if request.method == "POST" and not editable:
        raise PermissionDenied
    if not editable:
        return _review_page(request, assessment)
    forms = [AnswerForm(request.POST or None, answer=a) for a in assessment.answers.all()]
    evidence: dict[int, list] = {}
    for item in (Evidence.objects.current().filter(project=assessment.project).exclude(kind=EvidenceKind.CHECK)
                 .order_by("-created_at")):
        evidence.setdefault(item.practice_id, []).append(item)
    for form in forms:
        form.evidence = evidence.get(form.answer.practice_id, [])
    attention: list[AnswerForm] = []
    saved = 0
    if request.method == "POST":
        saved, attention = _save_answers(user, forms)
        if not attention:
            if "submit" in request.POST:
                return _submit(request, assessment)
            messages.success(request, "Draft saved.")
            return redirect("assessment-form", pk=assessment.pk)
    answered = sum(form.is_answered() for form in forms)
    return render(request, "assessments/assessment_form.html", {
        "assessment": assessment, "project": assessment.project, "groups": _grouped(forms),
        "editable": editable, "can_submit": editable and assessment.can_be_submitted_by(user),
        "can_attach": Evidence.can_be_added_by(user, assessment.project) and not assessment.project.archived_at,
        "answered": answered, "total": len(forms),
        "percent": round(100 * answered / len(forms)) if forms else 0,
        "attention": attention, "saved": saved,
        # The people an owner may name (docs/workflow.md: an answer's owner is a user of the team).
        "team_people": Membership.objects.filter(team_id=assessment.project.team_id, user__is_active=True)
        .order_by("user__username").values_list("user__username", flat=True),
    })


def _review_page(request, assessment: Assessment) -> HttpResponse:
    """Read-only: one compact row per practice, and the officer's approve / return at the top."""
    summary = review_summary(assessment)
    answered = sum(row.answer.is_answered for row in summary.rows)
    return render(request, "assessments/assessment_review.html", {
        "assessment": assessment, "project": assessment.project, "review": summary,
        "answered": answered, "total": len(summary.rows),
        "can_review": assessment.status == AssessmentStatus.SUBMITTED and assessment.can_be_reviewed_by(request.user),
    })


def _save_answers(user, forms: list[AnswerForm]) -> tuple[int, list[AnswerForm]]:
    """Save every valid, changed answer on its own, so one invalid answer never costs the others.

    Returns how many were saved and the forms that need attention (their errors on their fields).
    """
    saved, attention = 0, []
    for form in forms:
        if not form.is_valid():
            attention.append(form)
            continue
        changes = form.changes()
        if not changes:
            continue
        try:
            services.answer_update(actor=user, answer=form.answer, **changes)
        except ValidationError as exc:
            errors_to_form(form, exc)
            attention.append(form)
        else:
            saved += 1
    return saved, attention


def _submit(request, assessment) -> HttpResponse:
    try:
        services.assessment_submit(actor=request.user, assessment=assessment)
    except ValidationError as exc:
        body = validation_error_body(exc)
        if "missing" in body:
            messages.error(request, "Your answers are saved, but these practices still need an answer before you "
                                    "can submit: " + ", ".join(body["missing"]))
        else:
            messages.error(request, error_text(exc))
        return redirect("assessment-form", pk=assessment.pk)
    messages.success(request, "Submitted for review. A security officer will approve it or return it with comments.")
    return redirect("project-detail", pk=assessment.project_id)


REVIEW_QUEUE_PAGE = 50


@login_required
@scoped_view
def review_queue(request: HttpRequest) -> HttpResponse:
    """Submitted assessments waiting for an officer, oldest first, REVIEW_QUEUE_PAGE at a time."""
    queue = scoped(request, Assessment).review_queue().select_related("project__team", "submitted_by")
    page = Paginator(queue, REVIEW_QUEUE_PAGE).get_page(request.GET.get("page"))  # a bad page number: the nearest
    for item in page:
        item.reviewable = item.can_be_reviewed_by(request.user)
        item.own_team = item.is_in_reviewers_own_team(request.user)
    return render(request, "assessments/review_queue.html",
                  {"queue": page, "page": page, "viewer_reviews": is_reviewer(request.user)})


@login_required
@require_POST
@scoped_view
def assessment_review(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = get_scoped_or_404(request, Assessment.objects.select_related("project"), pk=pk)
    decision = request.POST.get("decision")
    try:
        if decision == "approve":
            form = ApproveForm(request.POST)
            comment = form.cleaned_data["comment"] if form.is_valid() else ""
            approved = services.assessment_approve(actor=request.user, assessment=assessment, comment=comment)
            if approved.superseded_at:
                messages.success(request, f"{assessment} approved for the record; the newer approved cycle still "
                                          "counts for the project's score.")
            else:
                messages.success(request, f"{assessment} approved.")
        elif decision == "return":
            form = ReturnForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Say what the team should change: a comment is required to return an assessment.")
                return redirect("assessment-form", pk=pk)
            services.assessment_return(actor=request.user, assessment=assessment, comment=form.cleaned_data["comment"])
            messages.success(request, f"{assessment} returned to the team.")
        else:
            messages.error(request, "Choose approve or return.")
            return redirect("assessment-form", pk=pk)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("assessment-form", pk=pk)
    return redirect("review-queue")


@login_required
@require_POST
@scoped_view
def acceptance_propose(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_scoped_or_404(request, Project.objects.active(), pk=pk)
    form = AcceptanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the practice, a justification and an expiry date.")
        return redirect(f"/projects/{pk}/#acceptances")
    action_done(request, lambda: services.acceptance_propose(actor=request.user, project=project, **form.cleaned_data),
                "Risk acceptance proposed; a security officer will decide on it.")
    return redirect(f"/projects/{pk}/#acceptances")


@login_required
@require_POST
@scoped_view
def acceptance_decide(request: HttpRequest, pk: int) -> HttpResponse:
    acceptance = get_scoped_or_404(request, RiskAcceptance, pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
    else:
        action_done(request, lambda: services.acceptance_decide(actor=request.user, acceptance=acceptance,
                                                                **form.cleaned_data),
                    f"Risk acceptance {form.cleaned_data['status']}.")
    return redirect(f"/projects/{acceptance.project_id}/#acceptances")
