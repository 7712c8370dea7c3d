"""Whose projects a framework view covers: the organisation, some teams, one team or one project.

Everything goes through `.visible_to(user)`: a team lead asking for another team, or for a project of
another team, gets the same 404 as for one that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.http import Http404

from accounts.models import Team
from assessments.models import Project


@dataclass
class ReadinessScope:
    kind: str  # "organisation" | "teams" (a team person's own teams) | "team" | "project"
    teams: list[Team] = field(default_factory=list)
    project: Project | None = None

    @property
    def team_ids(self) -> list[int]:
        return [t.pk for t in self.teams]

    @property
    def team(self) -> Team | None:
        return self.teams[0] if self.kind == "team" else None

    @property
    def label(self) -> str:
        if self.kind == "project":
            return f"{self.project.name} ({self.project.team.name})"
        if self.kind == "team":
            return self.teams[0].name
        return "Organisation" if self.kind == "organisation" else "Your teams"


def resolve_scope(user, *, team: str | None = None, project: str | int | None = None) -> ReadinessScope:
    """The scope `user` asked for (`team` slug, `project` id, or neither), checked against what they may see."""
    teams = Team.objects.visible_to(user).order_by("name")
    if project not in (None, ""):
        if not re.fullmatch(r"[0-9]{1,18}", str(project)):
            raise ValidationError({"project": ["A project id is a positive integer."]})
        found = Project.objects.visible_to(user).select_related("team").filter(pk=int(project)).first()
        if found is None:
            raise Http404("No such project.")
        if team not in (None, "") and found.team.slug != team:
            raise ValidationError({"project": ["That project is not in the chosen team."]})
        return ReadinessScope("project", teams=[found.team], project=found)
    if team not in (None, ""):
        found = teams.filter(slug=team).first()
        if found is None:
            raise Http404("No such team.")
        return ReadinessScope("team", teams=[found])
    return ReadinessScope("organisation" if user.sees_everything else "teams", teams=list(teams))
