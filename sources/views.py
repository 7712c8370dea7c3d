"""Project pages for sources: add, edit (credential write-only), remove, test, sync now."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.scope import get_scoped_or_404, scoped_view
from assessments.models import Project
from mlsec_portal.api import action_done, form_saved

from . import services
from .forms import SourceForm
from .models import Asset, Source


def project_sources_context(project, user, approved_at=None) -> dict:
    """What the project page shows about sources and assets (three queries)."""
    sources = list(Source.objects.filter(project=project).order_by("kind", "name", "pk"))
    changed = [s for s in sources if approved_at and s.updated_at > approved_at]
    return {
        "sources": sources,
        "assets": list(Asset.objects.filter(project=project).for_list()),
        "can_edit_sources": project.can_be_edited_by(user) and not project.archived_at,
        "sources_changed": bool(changed) and Source.changes_are_shown_to(user),
    }


def _editable(request, pk: int) -> Project:
    project = get_scoped_or_404(request, Project.objects.select_related("team"), pk=pk)
    if not project.can_be_edited_by(request.user):
        raise PermissionDenied("Only the team's lead, a security officer or an administrator can change sources.")
    return project


@login_required
@require_http_methods(["GET", "POST"])
@scoped_view
def source_create(request: HttpRequest, pk: int) -> HttpResponse:
    project = _editable(request, pk)
    form = SourceForm(request.POST or None, initial={"kind": request.GET.get("kind", "git")})
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        if form_saved(request, form, lambda: services.source_create(
                actor=request.user, project=project, kind=kind, name=form.cleaned_data["name"],
                config=form.config(kind), credential=form.credential()), "Source added."):
            return redirect("project-detail", pk=project.pk)
    return render(request, "sources/source_form.html", {"form": form, "project": project, "source": None})


@login_required
@require_http_methods(["GET", "POST"])
@scoped_view
def source_edit(request: HttpRequest, pk: int, sid: int) -> HttpResponse:
    project = _editable(request, pk)
    source = get_scoped_or_404(request, Source, pk=sid, project=project)
    form = SourceForm(request.POST or None, source=source)
    if request.method == "POST" and form.is_valid():
        if form_saved(request, form, lambda: services.source_update(
                actor=request.user, source=source, name=form.cleaned_data["name"], config=form.config(source.kind),
                credential=form.credential(), clear_credential=form.cleaned_data["clear_credential"]), "Source saved."):
            return redirect("project-detail", pk=project.pk)
    return render(request, "sources/source_form.html", {"form": form, "project": project, "source": source})


@login_required
@require_POST
@scoped_view
def source_delete(request: HttpRequest, pk: int, sid: int) -> HttpResponse:
    project = _editable(request, pk)
    source = get_scoped_or_404(request, Source, pk=sid, project=project)
    services.source_delete(actor=request.user, source=source)
    messages.success(request, f"Source {source.name} removed.")
    return redirect("project-detail", pk=project.pk)


@login_required
@require_POST
@scoped_view
def source_test(request: HttpRequest, pk: int, sid: int) -> HttpResponse:
    source = get_scoped_or_404(request, Source.objects.select_related("project__team"), pk=sid,
                               project_id=pk)
    answer = services.source_test(actor=request.user, source=source)
    (messages.success if answer["ok"] else messages.error)(request, f"{source.name}: {answer['detail']}")
    return redirect("project-detail", pk=pk)


@login_required
@require_POST
@scoped_view
def project_sync(request: HttpRequest, pk: int) -> HttpResponse:
    from .assets import project_sync_request

    project = get_scoped_or_404(request, Project.objects.active(), pk=pk)
    action_done(request, lambda: project_sync_request(actor=request.user, project=project),
                lambda ids: f"Sync queued for {len(ids)} source(s); new versions are scanned as they are found.")
    return redirect("project-detail", pk=pk)
