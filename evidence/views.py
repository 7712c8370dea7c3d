"""Pages: attach evidence, see it, download it (decrypted, as an attachment), review it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from assessments.models import Answer, Project
from controls.models import Practice
from mlsec_portal.api import error_text, errors_to_form
from mlsec_portal.downloads import harden_download

from . import services
from .forms import EvidenceForm, ReviewForm
from .models import Evidence


def attachment_response(evidence: Evidence) -> HttpResponse:
    """The decrypted bytes as a download that no browser will render or sniff."""
    data = services.evidence_bytes(evidence)
    response = HttpResponse(data, content_type=evidence.content_type or "application/octet-stream")
    return harden_download(response, evidence.download_name, len(data))


@login_required
def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_object_or_404(Evidence.objects.visible_to(request.user), pk=pk)
    try:
        return attachment_response(evidence)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("evidence-detail", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def evidence_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Attach evidence to a project's practice (optionally to an answer, or as a new version)."""
    project = get_object_or_404(Project.objects.visible_to(request.user).active().select_related("team"), pk=pk)
    if not services.can_add_evidence(request.user, project):
        raise PermissionDenied
    practice = get_object_or_404(Practice.objects.active(), code=request.GET.get("practice") or request.POST.get("practice"))
    answer_id = request.GET.get("answer") or request.POST.get("answer")
    answer = None
    if answer_id and str(answer_id).isdigit():
        answer = Answer.objects.visible_to(request.user).filter(pk=answer_id, practice=practice,
                                                                 assessment__project=project).first()
    previous_id = request.GET.get("supersedes") or request.POST.get("supersedes")
    previous = None
    if previous_id and str(previous_id).isdigit():
        previous = get_object_or_404(Evidence.objects.visible_to(request.user), pk=previous_id)
    form = EvidenceForm(request.POST or None, request.FILES or None,
                        initial={"title": previous.title if previous else ""})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            evidence = services.evidence_add(
                actor=request.user, project=project, practice=practice, kind=data["kind"], title=data["title"],
                url=data.get("url") or "", text=data.get("text") or "", upload=data.get("file"),
                valid_until=data.get("valid_until"), answer=answer, supersedes=previous)
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, f"Evidence “{evidence.title}” stored for {practice.code}.")
            if answer is not None:
                return redirect(f"/assessments/{answer.assessment_id}/#practice-{practice.code}")
            return redirect("evidence-detail", pk=evidence.pk)
    return render(request, "evidence/form.html", {"form": form, "project": project, "practice": practice,
                                                  "answer": answer, "previous": previous})


@login_required
def evidence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_object_or_404(
        Evidence.objects.visible_to(request.user).select_related("project__team", "practice", "uploaded_by",
                                                                 "reviewed_by", "check_run"), pk=pk)
    chain, cursor = [], evidence
    while cursor.previous_id and len(chain) < 50:
        cursor = Evidence.objects.select_related("uploaded_by").get(pk=cursor.previous_id)
        chain.append(cursor)
    newer = Evidence.objects.filter(previous=evidence).first()
    return render(request, "evidence/detail.html", {
        "expired": evidence.is_stale(timezone.localdate()),
        "evidence": evidence, "older": chain, "newer": newer, "review_form": ReviewForm(),
        "can_review": services.can_review_evidence(request.user, evidence) and evidence.kind != "check",
        "can_replace": services.can_add_evidence(request.user, evidence.project) and evidence.superseded_at is None
        and evidence.kind != "check",
    })


@login_required
@require_POST
def evidence_review(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_object_or_404(Evidence.objects.visible_to(request.user).select_related("project"), pk=pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose accept or reject.")
        return redirect("evidence-detail", pk=pk)
    try:
        services.evidence_review(actor=request.user, evidence=evidence, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Evidence {form.cleaned_data['status']}.")
    return redirect("evidence-detail", pk=pk)
