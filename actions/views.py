"""Pages: an action, promoting a failing check, the work lists (with CSV) and "my work"."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Team
from accounts.scope import get_scoped_or_404, scoped, scoped_view
from audit.models import AuditEvent
from checks.models import CheckRun
from mlsec_portal.api import action_done, form_saved
from reports.renderers.csv import safe_cell

from . import services
from .forms import ActionForm, PromoteForm
from .models import Action
from .worklists import WORK_LISTS, work_list_rows

ROWS_PER_PAGE = 50


@login_required
@require_http_methods(["GET", "POST"])
@scoped_view
def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_scoped_or_404(request, Action.objects.for_lists(), pk=pk)
    managing, may_status = action.can_be_managed_by(request.user), action.can_change_status(request.user)
    form = ActionForm(request.POST or None, action=action, managing=managing) if may_status and action.is_open else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid() and form_saved(
                request, form, lambda: services.action_update(actor=request.user, action=action, **form.changes(action)),
                "Action updated."):
            return redirect("action-detail", pk=pk)
    history = AuditEvent.objects.filter(object_type="actions.action", object_id=str(action.pk)).select_related(
        "actor").order_by("seq")
    return render(request, "actions/detail.html", {
        "action": action, "form": form, "history": history, "overdue": action.is_overdue(timezone.localdate())})


@login_required
@require_POST
@scoped_view
def promote_check_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_scoped_or_404(request, CheckRun, pk=pk)
    form = PromoteForm(request.POST)
    due_on = form.cleaned_data.get("due_on") if form.is_valid() else None
    action_done(request, lambda: services.action_promote_check(actor=request.user, run=run, due_on=due_on),
                lambda opened: f"{len(opened)} action{'s' if len(opened) != 1 else ''} opened for this check.")
    return redirect("check-run-detail", pk=pk)


class _Echo:
    def write(self, value):
        return value


def _csv(work_list, rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([c.header for c in work_list.columns])
        for row in rows.iterator(chunk_size=500):
            yield writer.writerow([safe_cell(c.value(row)) for c in work_list.columns])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{work_list.slug}-{timezone.localdate():%Y-%m-%d}.csv"'
    return response


@login_required
@scoped_view
def work_list(request: HttpRequest, slug: str) -> HttpResponse:
    """One organisation-wide list in the viewer's scope, `?team=` to narrow, `?format=csv` to download."""
    work = WORK_LISTS.get(slug)
    if work is None:
        raise Http404
    teams = list(scoped(request, Team).order_by("name").values_list("slug", "name"))
    team = request.GET.get("team") or None
    if team is not None and team not in {s for s, _ in teams}:
        return render(request, "actions/work_list.html", {"work": work, "teams": teams, "team": team, "page": None,
                                                          "error": "Choose one of the teams listed."}, status=400)
    rows = work_list_rows(work, request.user, team=team)
    if request.GET.get("format") == "csv":
        return _csv(work, rows)
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    table = [[(c.value(row), c.link(row) if c.link else None) for c in work.columns] for row in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "actions/work_list.html", {
        "work": work, "teams": teams, "team": team, "page": page, "table": table, "query": query.urlencode(),
        "work_lists": WORK_LISTS.values()})
