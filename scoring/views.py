"""The organisation dashboard: what security officers open every morning."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Window
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import Team
from accounts.scope import scoped, scoped_view
from actions.services import overdue_actions
from assessments.choices import AcceptanceStatus
from assessments.models import Assessment, RiskAcceptance
from checks.services import failing_checks
from evidence.models import Evidence, EvidenceKind, EvidenceStatus
from evidence.services import evidence_expiring

from . import charts
from .services import check_run_counts, scorecard_for, trend, trend_window


@login_required
@scoped_view
def dashboard(request: HttpRequest) -> HttpResponse:
    if not request.user.sees_everything:
        return redirect("home")
    teams = list(scoped(request, Team).order_by("name"))
    card = scorecard_for(teams)
    # Submitted means complete (submit refuses gaps): no completion to count here.
    queue = scoped(request, Assessment).review_queue().select_related("project__team", "submitted_by")
    # The first rows and how many there are, in one query (a window count): the page keeps to 15 queries.
    queue_items = list(queue.annotate(total=Window(Count("pk")))[:8])
    context = {
        "card": card,
        "projects": sum(t.projects for t in card.teams),
        "covered": sum(t.covered_projects for t in card.teams),
        "weakest": card.weakest(5),
        "queue": queue_items,
        "queue_count": queue_items[0].total if queue_items else 0,
        "heatmap": charts.heatmap_figure(card),
        "trend": charts.trend_figure(trend(days=90, live=(card.score, card.coverage)), window=trend_window(90)),
        "chart_config": charts.chart_config(),
    }
    context["failing_checks"] = list(failing_checks(request.user)[:10])
    context["failing_count"], context["checks_running"] = check_run_counts(request.user)
    context["proposed_acceptances"] = list(
        scoped(request, RiskAcceptance).filter(status=AcceptanceStatus.PROPOSED).select_related("project__team", "practice")
        .order_by("proposed_at")[:8])
    context["pending_evidence"] = list(
        scoped(request, Evidence).current().filter(status=EvidenceStatus.PENDING).exclude(kind=EvidenceKind.CHECK)
        .select_related("project", "practice").order_by("created_at")[:8])
    context["expiring_evidence"] = list(evidence_expiring(request.user, days=30)[:10])
    context["overdue_actions"], context["overdue_count"] = overdue_actions(request.user, limit=10)
    return render(request, "scoring/dashboard.html", context)
