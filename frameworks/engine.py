"""The database side of readiness: the scorecard's project × practice sums, and the projects in scope.

Readiness needs, per project × practice, exactly the sums the scorecard's one aggregate statement
computes (`scoring.engine.cells_statement`: approved assessments as of the moment, check caps, N/A
excluded, verification), so it runs that statement grouped by project and takes the rows as one
numeric array. Team and organisation figures are sums of those rows (every sum is additive), and the
weakest projects of every requirement come from a matrix product over them (frameworks/readiness.py),
so a framework view costs the same two statements whatever the number of projects and requirements.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import Q

from assessments.models import Project
from scoring.engine import cells_statement

# Columns of the array `project_cells` returns.
PROJECT, PRACTICE, WSUM, WTOT, COVERED, SCORED, VERIFIED, CAPPED, STALE, ACCEPTED = range(10)

CELLS_SQL = """
WITH cells(group_id, practice_id, wsum, wtot, covered, scored, verified, capped, stale, accepted) AS (
{cells}
)
SELECT group_id, practice_id, COALESCE(wsum, 0), COALESCE(wtot, 0), covered, scored, verified, capped,
       COALESCE(stale, 0), COALESCE(accepted, 0)
FROM cells
"""


def project_cells(*, moment: dt.datetime, team_ids=None, project_ids=None) -> np.ndarray:
    """The scorecard's project × practice sums as an (n, 10) float array (columns above): one query."""
    cells, params = cells_statement(moment=moment, group_by="project", team_ids=team_ids, project_ids=project_ids)
    with connection.cursor() as cursor:
        cursor.execute(CELLS_SQL.format(cells=cells), params)
        rows = cursor.fetchall()
    return np.array(rows, dtype=float).reshape(len(rows), 10)


def rollup_cells(*, team_ids=None, project_ids=None) -> np.ndarray:
    """The same array for now, read from the scorecard's rollup (scoring/rollup.py): one query."""
    from scoring.models import ProjectRollup

    if (team_ids is not None and not list(team_ids)) or (project_ids is not None and not list(project_ids)):
        return np.zeros((0, 10))
    rows = ProjectRollup.objects.filter(practice__isnull=False).order_by()
    if team_ids is not None:
        rows = rows.filter(team_id__in=list(team_ids))
    if project_ids is not None:
        rows = rows.filter(project_id__in=list(project_ids))
    sql, params = rows.values_list("project_id", "practice_id", "weighted_sum", "weight_total", "covered", "scored",
                                   "verified", "capped", "stale", "accepted").query.sql_with_params()
    with connection.cursor() as cursor:  # plain tuples: 500,000 rows at 20,000 projects
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return np.array(found, dtype=float).reshape(len(found), 10)


@dataclass(frozen=True, slots=True)
class ScopeProject:
    id: int
    team_id: int
    combo: str  # "role|risk class" under the EU AI Act ("|": not classified)
    name: str
    team: str
    team_name: str


def projects_in_scope(*, moment: dt.datetime, team_ids=None, project_ids=None) -> list[ScopeProject]:
    """The projects that existed at `moment` in the scope, by id: one query (the scorecard counts the same)."""
    queryset = Project.objects.filter(created_at__lte=moment).filter(Q(archived_at__isnull=True) | Q(archived_at__gt=moment))
    if team_ids is not None:
        queryset = queryset.filter(team_id__in=list(team_ids))
    if project_ids is not None:
        queryset = queryset.filter(pk__in=list(project_ids))
    rows = queryset.order_by("pk").values_list("pk", "team_id", "ai_act_role", "ai_act_risk_class", "name", "team__slug",
                                               "team__name")
    return [ScopeProject(pk, team_id, f"{role}|{risk_class}", name, slug, team_name)
            for pk, team_id, role, risk_class, name, slug, team_name in rows]
