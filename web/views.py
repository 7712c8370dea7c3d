"""Landing pages: home (a lead's own team scorecards), the teams index, a team, the catalogue."""

from __future__ import annotations

from collections import OrderedDict

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.models import Membership, Team
from accounts.scope import get_scoped_or_404, scoped, scoped_view
from actions.services import overdue_actions
from assessments.models import Assessment, Project
from controls.models import Practice
from evidence.models import Evidence
from scoring import charts
from scoring.services import (
    checks_in_progress,
    checks_in_progress_by_team,
    project_scores,
    projects_on_practice,
    remembered_live,
    scorecard_for,
    trend,
    trend_window,
)


def _projects_with_latest(queryset, scores=None, *, viewer):
    """Projects with their assessments newest first (`project.latest`) and their score: two queries.

    `project.editable_by_viewer` says whether `viewer` may change its open assessment (team people only),
    so nobody is offered "Continue" on a form they can only read.
    """
    assessments = Assessment.objects.with_completion().order_by("-created_at")
    projects = list(queryset.select_related("team").prefetch_related(
        Prefetch("assessments", queryset=assessments, to_attr="history")))
    for project in projects:
        project.latest = project.history[0] if project.history else None
        found = (scores or {}).get(project.pk)
        project.score = found.score if found else None
        project.editable_by_viewer = bool(project.latest and project.latest.can_be_edited_by(viewer))
    return projects


@login_required
@scoped_view
def home(request: HttpRequest) -> HttpResponse:
    """Officers, auditors and administrators land on the dashboard; team people on their teams."""
    user = request.user
    if user.sees_everything:
        return redirect("dashboard")
    memberships = list(Membership.objects.filter(user=user).select_related("team").order_by("team__name"))
    teams = [m.team for m in memberships]
    card = scorecard_for(teams)
    scores = project_scores(team_ids=[t.pk for t in teams])
    projects = _projects_with_latest(scoped(request, Project).active().order_by("name"), scores, viewer=user)
    by_team: OrderedDict[int, list] = OrderedDict((t.pk, []) for t in teams)
    for project in projects:
        by_team.setdefault(project.team_id, []).append(project)
    team_scores = {t.team.pk: t for t in card.teams}
    running = checks_in_progress_by_team(user, team_ids=[t.pk for t in teams])
    rows = [{"membership": m, "team": m.team, "score": team_scores.get(m.team_id), "projects": by_team.get(m.team_id, []),
             "checks_running": running.get(m.team_id, 0)}
            for m in memberships]
    return render(request, "web/home.html", {"teams": rows})


@login_required
@scoped_view
def teams_index(request: HttpRequest) -> HttpResponse:
    teams = list(scoped(request, Team).annotate(
        member_count=Count("memberships", distinct=True),
    ).order_by("name"))
    card = scorecard_for(teams)
    scores = {t.team.pk: t for t in card.teams}
    for team in teams:
        team.card = scores.get(team.pk)
    return render(request, "web/teams_index.html", {"teams": teams})


@login_required
@scoped_view
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    team = get_scoped_or_404(request, Team, slug=slug)
    team_score = scorecard_for([team]).teams[0]
    # Officers compare the team with the organisation (its practices remembered until a figure changes,
    # scoring/cache.py); team people see only their own teams' figures.
    org_practices = (remembered_live("org-practices", scoped(request, Team).order_by("name"),
                                     lambda card: card.practices) if user.sees_everything else None)
    scores = project_scores(team_ids=[team.pk])
    projects = _projects_with_latest(Project.objects.filter(team=team).active().order_by("name"), scores, viewer=user)
    members = Membership.objects.filter(team=team).select_related("user").order_by("role", "user__username")
    can_add_project = team.can_add_project(user)
    overdue, overdue_count = overdue_actions(user, limit=10, team_ids=[team.pk])
    return render(request, "web/team_detail.html", {
        "team": team, "team_score": team_score, "projects": projects, "members": members,
        "can_add_project": can_add_project, "overdue_actions": overdue, "overdue_count": overdue_count,
        "can_manage_members": team.can_be_managed_by(user), "can_share_evidence": Evidence.can_be_added_by(user, None, team=team),
        "polar": charts.polar_figure(team_score, org_practices),
        "trend": charts.trend_figure(trend(team=team, days=90, live=(team_score.score, team_score.coverage)),
                                     window=trend_window(90)),
        "checks_running": checks_in_progress(user, team_ids=[team.pk]),
        "chart_config": charts.chart_config(),
        "gaps": sorted((p for p in team_score.practices if p.score is not None), key=lambda p: p.score)[:5],
    })


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    practices = Practice.objects.active().for_catalogue()
    groups: OrderedDict[str, list] = OrderedDict()
    for practice in practices:
        groups.setdefault(practice.category, []).append(practice)
    return render(request, "web/catalogue.html", {"groups": groups})




@login_required
@scoped_view
def practice_detail(request: HttpRequest, code: str) -> HttpResponse:
    """The projects (in the user's scope) weak on one practice, weakest first; `?show=all` lists every one."""
    user = request.user
    practice = get_object_or_404(Practice.objects.active(), code=code)
    teams = list(scoped(request, Team).order_by("name"))
    team = next((t for t in teams if t.slug == request.GET.get("team")), None)
    projects = scoped(request, Project).active().select_related("team").order_by("team__name", "name")
    if team is not None:
        projects = projects.filter(team=team)
    team_ids = [team.pk] if team else (None if user.sees_everything else [t.pk for t in teams])
    rows = projects_on_practice(projects, practice, team_ids=team_ids)
    show_all = request.GET.get("show") == "all"
    return render(request, "web/practice_detail.html", {
        "practice": practice, "teams": teams, "team": team, "show_all": show_all,
        "rows": rows if show_all else [r for r in rows if r.weak], "weak_count": sum(r.weak for r in rows),
        "assessed_count": sum(r.assessed for r in rows), "unassessed_count": sum(not r.assessed for r in rows),
    })
