"""Pages: the framework index, a framework's readiness, the crosswalk, a project's EU AI Act classification."""

from __future__ import annotations

from collections import OrderedDict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Team
from accounts.scope import get_scoped_or_404, scoped, scoped_view
from assessments.models import Project
from assessments.services import project_update
from controls.models import Practice
from mlsec_portal.api import action_done, error_text, errors_to_form
from scoring.services import parse_as_of, scorecard_for

from .choices import AI_ACT
from .forms import AiActClassificationForm, ScopeFilterForm
from .models import Framework, RequirementPractice
from .readiness import framework_readiness, gather, load_structures
from .scope import resolve_scope


@login_required
@scoped_view
def frameworks_index(request: HttpRequest) -> HttpResponse:
    """Every framework with its readiness in the user's scope: seven frameworks, the same few queries."""
    scope = resolve_scope(request.user)
    frameworks = list(Framework.objects.annotate(requirement_count=Count("requirements")).order_by("position"))
    structures = load_structures(frameworks)
    inputs = gather(scope)
    rows = [framework_readiness(f, scope, inputs=inputs, structure=structures[f.pk], with_weakest=False)
            for f in frameworks]
    return render(request, "frameworks/index.html", {"rows": zip(frameworks, rows, strict=True), "scope": scope})


@login_required
@scoped_view
def framework_detail(request: HttpRequest, key: str) -> HttpResponse:
    framework = get_object_or_404(Framework, key=key)
    teams = list(scoped(request, Team).order_by("name"))
    everyone = "Whole organisation" if request.user.sees_everything else "All my teams"
    form = ScopeFilterForm(request.GET or None, teams=teams, everyone_label=everyone)
    try:
        as_of = parse_as_of(request.GET.get("as_of"))
        scope = resolve_scope(request.user, team=request.GET.get("team"), project=request.GET.get("project"))
    except ValidationError as exc:
        errors_to_form(form, exc)
        return render(request, "frameworks/detail.html", {"framework": framework, "form": form,
                                                          "error": error_text(exc)}, status=400)
    result = framework_readiness(framework, scope, as_of=as_of)
    context = {"framework": framework, "form": form, "result": result, "scope": scope,
               "gaps": sorted((r for r in result.requirements if r.is_gap and r.mapped),
                              key=lambda r: (r.readiness, r.requirement.position))[:5]}
    project = scope.project
    if framework.key == AI_ACT and project is not None:
        context["classification_form"] = AiActClassificationForm(initial={
            "ai_act_role": project.ai_act_role, "ai_act_risk_class": project.ai_act_risk_class})
        context["can_classify"] = project.can_be_edited_by(request.user) and not project.archived_at
    return render(request, "frameworks/detail.html", context)


@login_required
@scoped_view
def crosswalk(request: HttpRequest) -> HttpResponse:
    """Practices × frameworks: which requirement each practice is mapped to, with the practice's score."""
    frameworks = list(Framework.objects.order_by("position"))
    practices = list(Practice.objects.active().order_by("number"))
    cells: dict[tuple[int, int], list] = {}
    for practice_id, framework_id, ref, title in RequirementPractice.objects.filter(direct=True).order_by(
            "requirement__position").values_list("practice_id", "requirement__framework_id", "requirement__ref",
                                                  "requirement__title"):
        cells.setdefault((practice_id, framework_id), []).append((ref, title))
    scope = resolve_scope(request.user)
    scores = {p.practice.pk: p for p in scorecard_for(scope.teams).practices}
    rows = [{"practice": p, "score": scores.get(p.pk),
             "cells": [(f, cells.get((p.pk, f.pk), [])) for f in frameworks]} for p in practices]
    counts = OrderedDict((f.key, sum(bool(r["cells"][i][1]) for r in rows)) for i, f in enumerate(frameworks))
    return render(request, "frameworks/crosswalk.html", {"frameworks": frameworks, "rows": rows, "counts": counts,
                                                         "scope": scope})


@login_required
@require_POST
@scoped_view
def ai_act_classify(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a project's EU AI Act role and risk class (the project's editors: lead, officer, administrator)."""
    project = get_scoped_or_404(request, Project.objects.select_related("team"), pk=pk)
    if not project.can_be_edited_by(request.user):
        raise PermissionDenied("Only the team's lead, a security officer or an administrator can classify this project.")
    form = AiActClassificationForm(request.POST)
    target = reverse("framework-detail", args=[AI_ACT]) + f"?project={project.pk}"
    if not form.is_valid():
        messages.error(request, "Choose a role and a risk class from the lists.")
        return redirect(target)
    action_done(request, lambda: project_update(actor=request.user, project=project, **form.cleaned_data),
                f"{project.name}: EU AI Act classification saved.")
    return redirect(target)
