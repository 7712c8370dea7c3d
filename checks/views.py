"""Pages: the checks catalogue, and running a project's checks from its page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Team
from accounts.scope import get_scoped_or_404, scoped, scoped_view
from assessments.models import Project
from mlsec_portal.api import action_done, form_saved

from . import services
from .choices import RunStatus
from .filtersets import CheckRunFilter
from .models import Advisory, AdvisoryImport, CheckDefinition, CheckRun
from .schedules import schedules_by_check


@login_required
@scoped_view
def checks_index(request: HttpRequest) -> HttpResponse:
    """What the portal verifies, when, and the state of the latest verdicts in the user's scope."""
    definitions = list(CheckDefinition.objects.prefetch_related("practices").order_by("key"))
    current = (scoped(request, CheckRun)
               .filter(superseded_at__isnull=True, project__archived_at__isnull=True, status__in=("passed", "failed"))
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


RUNS_PER_PAGE = 50


@login_required
@scoped_view
def check_runs(request: HttpRequest) -> HttpResponse:
    """Every run in the user's scope, filtered by status, check, team, project, or the verdicts in force."""
    runs = (scoped(request, CheckRun).select_related("project__team", "definition")
            .defer("findings", "data").order_by("-created_at", "-pk"))
    filterset = CheckRunFilter(request.GET or None, queryset=runs)
    filterset.form.fields["check"].widget = forms.Select(
        choices=[("", "any check"), *CheckDefinition.objects.order_by("key").values_list("key", "key")])
    filterset.form.fields["team"].widget = forms.Select(
        choices=[("", "any team"), *scoped(request, Team).order_by("name").values_list("slug", "name")])
    if filterset.is_bound and not filterset.is_valid():
        return render(request, "checks/runs.html", {"filter": filterset, "page": None, "query": ""}, status=400)
    page = Paginator(filterset.qs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "checks/runs.html", {"filter": filterset, "page": page, "query": query.urlencode()})


@login_required
@require_POST
@scoped_view
def project_run_checks(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_scoped_or_404(request, Project.objects.active(), pk=pk)
    keys = [k for k in request.POST.getlist("check") if k] or None

    def queued(runs) -> str:
        count = sum(r.status in (RunStatus.QUEUED, RunStatus.RUNNING) for r in runs)
        return f"{count} check{'s' if count != 1 else ''} queued; results appear here as the workers finish them."

    action_done(request, lambda: services.queue_runs(project=project, keys=keys, actor=request.user), queued)
    return redirect(f"/projects/{project.pk}/#checks")


@login_required
@require_POST
@scoped_view
def project_approve_baseline(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the re-approval: a worker hashes the artifacts (never this request)."""
    project = get_scoped_or_404(request, Project.objects.active(), pk=pk)
    action_done(request, lambda: services.baseline_approval_request(actor=request.user, project=project),
                "Re-approval queued: a worker hashes the artifacts as they are now, and "
                "model-integrity compares against the new baseline from its next run.")
    return redirect(f"/projects/{project.pk}/#checks")


@login_required
@scoped_view
def check_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_scoped_or_404(request, CheckRun.objects.select_related("project__team", "definition",
                                                                     "requested_by"), pk=pk)
    from actions.models import Action

    user = request.user
    may_promote = (run.status == RunStatus.FAILED and run.superseded_at is None
                   and run.project.can_manage_actions(user))
    actions = Action.objects.filter(project_id=run.project_id, check_definition_id=run.definition_id).open()
    return render(request, "checks/run_detail.html", {
        "run": run, "evidence": run.evidence.select_related("practice"), "may_promote": may_promote,
        "open_actions": actions.select_related("practice", "owner")})


@login_required
@scoped_view
def scan_allowances(request: HttpRequest) -> HttpResponse:
    """The teams' reviewed scan allowances in the user's scope; officers add and remove them."""
    from . import policy_services
    from .forms import ScanAllowanceForm
    from .models import ScanAllowance

    can_review = ScanAllowance.can_be_reviewed_by(request.user)
    form = ScanAllowanceForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if not can_review:
            raise PermissionDenied("Only a security officer or an administrator reviews scan allowances.")
        if form.is_valid():
            data = form.cleaned_data
            if form_saved(request, form, lambda: policy_services.scan_allowance_create(
                    actor=request.user, team=data["team"], kind=data["kind"], name=data["name"], reason=data["reason"]),
                    lambda allowance: f"{allowance.name} is allowed for {allowance.team.name}."):
                return redirect("scan-allowances")
    allowances = scoped(request, ScanAllowance).select_related("team", "reviewed_by")
    return render(request, "checks/scan_allowances.html", {"allowances": allowances, "form": form,
                                                           "can_review": can_review},
                  status=400 if form.errors else 200)


@login_required
@require_POST
@scoped_view
def scan_allowance_delete(request: HttpRequest, pk: int) -> HttpResponse:
    from . import policy_services
    from .models import ScanAllowance

    allowance = get_scoped_or_404(request, ScanAllowance, pk=pk)
    policy_services.scan_allowance_delete(actor=request.user, allowance=allowance)
    messages.success(request, f"{allowance.name} is no longer allowed for {allowance.team.name}.")
    return redirect("scan-allowances")
