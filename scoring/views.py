"""The organisation dashboard: what security officers open every morning."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.models import Team
from accounts.scope import scoped, scoped_view
from actions.services import overdue_actions
from assessments.choices import AcceptanceStatus
from assessments.models import Assessment, RiskAcceptance
from checks.services import failing_checks
from evidence.models import Evidence, EvidenceKind, EvidenceStatus
from evidence.services import evidence_expiring
from mlsec_portal.encoded import EncodedJSON
from mlsec_portal.firstrows import first_rows_and_count

from . import charts
from .services import Scorecard, check_run_counts, remembered_live, trend, trend_window


@dataclass(frozen=True)
class DashboardCard:
    """What the dashboard shows of today's scorecard, the heatmap already encoded: remembered until
    something in it changes (scoring/cache.py), so a visit does not assemble 5,000 cells again.

    The heatmap (one row per team: 2.6 MB of JSON at 2,000 teams) is not in the page: the page asks for it
    (`dashboard_heatmap`), gzip-compressed and with an ETag, so the page stays small whatever the size of the
    organisation and a repeat visit gets a 304 for an unchanged heatmap."""

    catalog_version: str
    score: float | None
    coverage: float | None
    verified: float | None
    team_count: int
    projects: int
    covered: int
    weakest: list
    heatmap: EncodedJSON

    @property
    def nbytes(self) -> int:  # what a process's copy weighs (scoring/cache.py): the heatmap, mostly
        return self.heatmap.nbytes + 64 * 1024

    @classmethod
    def of(cls, card: Scorecard) -> DashboardCard:
        return cls(catalog_version=card.catalog_version, score=card.score, coverage=card.coverage,
                   verified=card.verified, team_count=len(card.teams),
                   projects=sum(t.projects for t in card.teams), covered=sum(t.covered_projects for t in card.teams),
                   weakest=card.weakest(5), heatmap=EncodedJSON.of(charts.heatmap_figure(card)))


def dashboard_card(request: HttpRequest) -> DashboardCard:
    """Today's card for everything the officer or auditor sees, as remembered (scoring/cache.py)."""
    return remembered_live("dashboard", scoped(request, Team).order_by("name"), DashboardCard.of)


@require_safe
@login_required
@scoped_view
def dashboard_heatmap(request: HttpRequest) -> HttpResponse:
    """The dashboard's heatmap figure (JSON), which `static/js/charts.js` fetches and draws."""
    if not request.user.sees_everything:
        raise PermissionDenied
    return dashboard_card(request).heatmap.response(request)


@login_required
@scoped_view
def dashboard(request: HttpRequest) -> HttpResponse:
    if not request.user.sees_everything:
        return redirect("home")
    card = dashboard_card(request)
    # Submitted means complete (submit refuses gaps): no completion to count here.
    queue = scoped(request, Assessment).review_queue().select_related("project__team", "submitted_by")
    # The first rows and how many there are, in one query: the page keeps to 15 queries.
    queue_items, queue_count = first_rows_and_count(queue, 8)
    context = {
        "card": card,
        "moment": timezone.now(),
        "projects": card.projects,
        "covered": card.covered,
        "weakest": card.weakest,
        "queue": queue_items,
        "queue_count": queue_count,
        "trend": charts.trend_figure(trend(days=90, live=(card.score, card.coverage)), window=trend_window(90)),
        "chart_config": charts.chart_config(),
    }
    context["failing_checks"] = list(failing_checks(request.user).defer("findings", "data")[:10])
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
