"""Pages: the checks catalogue, and running a project's checks from its page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from assessments.models import Project

from . import services
from .api.views import schedules_by_check
from .choices import RunStatus
from .models import Advisory, AdvisoryImport, CheckDefinition, CheckRun


@login_required
def checks_index(request: HttpRequest) -> HttpResponse:
    """What the portal verifies, when, and the state of the latest verdicts in the user's scope."""
    definitions = list(CheckDefinition.objects.prefetch_related("practices").order_by("key"))
    current = (CheckRun.objects.visible_to(request.user).filter(superseded_at__isnull=True, status__in=("passed", "failed"))
               .values("definition_id").annotate(passed=Count("pk", filter=Q(status=RunStatus.PASSED)),
                                                 failed=Count("pk", filter=Q(status=RunStatus.FAILED))))
    verdicts = {row["definition_id"]: row for row in current}
    schedules = schedules_by_check()
    for definition in definitions:
        definition.verdicts = verdicts.get(definition.key, {"passed": 0, "failed": 0})
        definition.schedule = schedules.get(definition.key, definition.default_schedule)
    return render(request, "checks/index.html", {
        "definitions": definitions,
        "advisory_count": Advisory.objects.count(),
        "last_import": AdvisoryImport.objects.filter(finished_at__isnull=False).first(),
    })


@login_required
@require_POST
def project_run_checks(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_object_or_404(Project.objects.visible_to(request.user).active(), pk=pk)
    keys = [k for k in request.POST.getlist("check") if k] or None
    try:
        runs = services.queue_runs(project=project, keys=keys, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        queued = sum(r.status in (RunStatus.QUEUED, RunStatus.RUNNING) for r in runs)
        messages.success(request, f"{queued} check{'s' if queued != 1 else ''} queued; results appear here as the "
                                  "workers finish them.")
    return redirect(f"/projects/{project.pk}/#checks")


@login_required
@require_POST
def project_approve_baseline(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the re-approval: a worker hashes the artifacts (never this request)."""
    project = get_object_or_404(Project.objects.visible_to(request.user).active(), pk=pk)
    try:
        services.baseline_approval_request(actor=request.user, project=project)
    except PermissionDenied:
        raise
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Re-approval queued: a worker hashes the artifacts as they are now, and "
                                  "model-integrity compares against the new baseline from its next run.")
    return redirect(f"/projects/{project.pk}/#checks")


@login_required
def check_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(CheckRun.objects.visible_to(request.user).select_related("project__team", "definition",
                                                                                     "requested_by"), pk=pk)
    return render(request, "checks/run_detail.html", {"run": run, "evidence": run.evidence.select_related("practice")})
