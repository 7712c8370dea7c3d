"""Pages: attach evidence, see it, download it (decrypted, as an attachment), review it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.scope import get_scoped_or_404, scoped, scoped_view
from assessments.models import Answer, Project
from controls.models import Practice
from mlsec_portal.api import action_done, errors_to_form

from . import services, sharing
from .downloads import attachment_response
from .forms import EvidenceForm, LinkForm, ReviewForm, SharedEvidenceForm
from .models import Evidence, EvidenceLink


@login_required
@scoped_view
def evidence_download(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_scoped_or_404(request, Evidence, pk=pk)
    try:
        return attachment_response(evidence)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("evidence-detail", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
@scoped_view
def evidence_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Attach evidence to a project's practice (optionally to an answer, or as a new version)."""
    project = get_scoped_or_404(request, Project.objects.active().select_related("team"), pk=pk)
    if not Evidence.can_be_added_by(request.user, project):
        raise PermissionDenied
    practice = get_object_or_404(Practice.objects.active(), code=request.GET.get("practice") or request.POST.get("practice"))
    answer_id = request.GET.get("answer") or request.POST.get("answer")
    answer = None
    if answer_id and str(answer_id).isdigit():
        answer = scoped(request, Answer).filter(pk=answer_id, practice=practice,
                                                                 assessment__project=project).first()
    previous_id = request.GET.get("supersedes") or request.POST.get("supersedes")
    previous = None
    if previous_id and str(previous_id).isdigit():
        previous = get_scoped_or_404(request, Evidence, pk=previous_id)
    form = EvidenceForm(request.POST or None, request.FILES or None,
                        initial={"title": previous.title if previous else ""})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            evidence = services.evidence_add(
                actor=request.user, project=project, practice=practice, kind=data["kind"], title=data["title"],
                url=data.get("url") or "", text=data.get("text") or "", upload=data.get("file"),
                valid_until=data.get("valid_until"), answer=answer, supersedes=previous, **form.dates())
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
@scoped_view
def evidence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_scoped_or_404(
        request, Evidence.objects.select_related("project__team", "team", "practice", "uploaded_by",
                                                 "reviewed_by", "check_run"), pk=pk)
    chain, cursor = [], evidence
    while cursor.previous_id and len(chain) < 50:
        cursor = Evidence.objects.select_related("uploaded_by").get(pk=cursor.previous_id)
        chain.append(cursor)
    newer = Evidence.objects.filter(previous=evidence).first()
    # Organisation evidence is seen by everyone; the projects it serves only by those who see them.
    links = list(EvidenceLink.objects.filter(evidence__in=[evidence, *chain], project__in=scoped(request, Project))
                 .select_related(
        "project", "practice", "linked_by").order_by("linked_at", "pk"))
    linkable = []
    if evidence.project_id is None and evidence.superseded_at is None and evidence.kind != "check":
        candidates = scoped(request, Project).active().select_related("team").order_by("name")
        if evidence.team_id:
            candidates = candidates.filter(team_id=evidence.team_id)
        linkable = [p for p in candidates if evidence.can_be_linked_by(request.user, p)]
    return render(request, "evidence/detail.html", {
        "links": links, "linkable": linkable, "practices": Practice.objects.active().order_by("number"),
        "expired": evidence.is_stale(timezone.localdate()),
        "evidence": evidence, "older": chain, "newer": newer, "review_form": ReviewForm(),
        "can_review": evidence.can_be_reviewed_by(request.user) and evidence.kind != "check",
        "can_replace": Evidence.can_be_added_by(request.user, evidence.project, team=evidence.team)
        and evidence.superseded_at is None
        and evidence.kind != "check",
    })


@login_required
@require_POST
@scoped_view
def evidence_review(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_scoped_or_404(request, Evidence.objects.select_related("project"), pk=pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose accept or reject.")
        return redirect("evidence-detail", pk=pk)
    action_done(request, lambda: services.evidence_review(actor=request.user, evidence=evidence, **form.cleaned_data),
                f"Evidence {form.cleaned_data['status']}.")
    return redirect("evidence-detail", pk=pk)


def _owners(user) -> list[tuple[str, str]]:
    from accounts.models import Team

    owners = [(f"team:{t.slug}", t.name) for t in Team.objects.filter(pk__in=list(user.team_roles())).order_by("name")]
    if Evidence.can_be_added_by(user, None):
        owners.insert(0, ("organisation", "The organisation"))
    return owners


@login_required
@require_http_methods(["GET", "POST"])
@scoped_view
def shared_evidence_new(request: HttpRequest) -> HttpResponse:
    """Store a document once for a team or the organisation; link it to projects on its page."""
    from accounts.models import Team

    owners = _owners(request.user)
    if not owners:
        raise PermissionDenied
    practices = list(Practice.objects.active().order_by("number").values_list("code", "code"))
    previous = None
    previous_id = request.GET.get("supersedes") or request.POST.get("supersedes")
    if previous_id and str(previous_id).isdigit():
        previous = get_scoped_or_404(request, Evidence.objects.shared(), pk=previous_id)
    initial = {"title": previous.title, "practice": previous.practice.code,
               "owner": f"team:{previous.team.slug}" if previous.team_id else "organisation"} if previous else {}
    form = SharedEvidenceForm(request.POST or None, request.FILES or None, owners=owners, practices=practices,
                              initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        owner = data["owner"]
        team = Team.objects.get(slug=owner.split(":", 1)[1]) if owner.startswith("team:") else None
        try:
            evidence = services.evidence_add(
                actor=request.user, project=None, team=team, practice=Practice.objects.get(code=data["practice"]),
                kind=data["kind"], title=data["title"], url=data.get("url") or "", text=data.get("text") or "",
                upload=data.get("file"), valid_until=data.get("valid_until"), supersedes=previous, **form.dates())
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, f"Shared evidence “{evidence.title}” stored: link it to projects below.")
            return redirect("evidence-detail", pk=evidence.pk)
    return render(request, "evidence/shared_form.html", {"form": form, "previous": previous},
                  status=400 if request.method == "POST" else 200)


@login_required
@require_POST
@scoped_view
def evidence_link(request: HttpRequest, pk: int) -> HttpResponse:
    evidence = get_scoped_or_404(request, Evidence, pk=pk)
    form = LinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a project and a practice.")
        return redirect("evidence-detail", pk=pk)
    project = get_scoped_or_404(request, Project, pk=form.cleaned_data["project"])
    practice = get_object_or_404(Practice.objects.active(), code=form.cleaned_data["practice"])
    action_done(request, lambda: sharing.evidence_link(actor=request.user, evidence=evidence, project=project,
                                                       practice=practice),
                f"Linked to {project} for {practice.code}.")
    return redirect("evidence-detail", pk=pk)


@login_required
@require_POST
@scoped_view
def evidence_unlink(request: HttpRequest, pk: int, link_id: int) -> HttpResponse:
    evidence = get_scoped_or_404(request, Evidence, pk=pk)
    link = get_object_or_404(EvidenceLink.objects.filter(evidence=evidence, project__in=scoped(request, Project)),
                             pk=link_id)
    sharing.evidence_unlink(actor=request.user, link=link)
    messages.success(request, "Link removed.")
    return redirect("evidence-detail", pk=pk)
