"""Landing pages: home (my teams / all teams), a team, the catalogue."""

from __future__ import annotations

from collections import OrderedDict

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.models import Membership, Team
from assessments.models import Assessment, Project
from controls.models import Practice


def _projects_with_latest(queryset):
    """Projects with their assessments newest first (`project.latest` is the first), two queries."""
    assessments = Assessment.objects.with_completion().order_by("-created_at")
    projects = list(queryset.select_related("team").prefetch_related(Prefetch("assessments", queryset=assessments, to_attr="history")))
    for project in projects:
        project.latest = project.history[0] if project.history else None
    return projects


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.sees_everything:
        teams = Team.objects.annotate(
            project_count=Count("projects", filter=Q(projects__archived_at__isnull=True), distinct=True),
            member_count=Count("memberships", distinct=True),
        ).order_by("name")
        return render(request, "web/teams_index.html", {"teams": teams})
    memberships = Membership.objects.filter(user=user).select_related("team").order_by("team__name")
    projects = _projects_with_latest(Project.objects.visible_to(user).active().order_by("name"))
    by_team: OrderedDict[int, list] = OrderedDict((m.team_id, []) for m in memberships)
    for project in projects:
        by_team.setdefault(project.team_id, []).append(project)
    teams = [{"membership": m, "team": m.team, "projects": by_team.get(m.team_id, [])} for m in memberships]
    return render(request, "web/home.html", {"teams": teams})


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team.objects.visible_to(request.user), slug=slug)
    projects = _projects_with_latest(Project.objects.filter(team=team).active().order_by("name"))
    members = Membership.objects.filter(team=team).select_related("user").order_by("role", "user__username")
    can_add_project = request.user.is_org_admin or request.user.is_officer or request.user.is_lead_of(team.pk)
    return render(request, "web/team_detail.html", {
        "team": team, "projects": projects, "members": members, "can_add_project": can_add_project,
    })


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    practices = Practice.objects.active().for_catalogue()
    groups: OrderedDict[str, list] = OrderedDict()
    for practice in practices:
        groups.setdefault(practice.category, []).append(practice)
    return render(request, "web/catalogue.html", {"groups": groups})
