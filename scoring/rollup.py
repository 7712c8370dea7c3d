"""The incremental scorecard: the engine's sums for "now", kept in tables as things change.

`scoring/engine.py` recomputes every group × practice sum from every answer; that stays the reference.
This module keeps the same sums in two tables, updated in the transaction of every event that
changes them (docs/scoring.md, "The rollup"):

- `ProjectRollup`: per project × practice, exactly the engine's cell grouped by project, plus one row
  per project (practice null) saying whether it is counted and covered;
- `TeamRollup`: per team × practice, the sum of its projects' rows (every sum is additive; stale and
  accepted are "any").

An event names the projects it touched (`refresh_projects`): their rows are recomputed by the engine
scoped to those projects (the same statement, so the same rules), then the rows of their teams (old
and new, for a move) are re-added from the project rows under a lock on each team row, so concurrent
events on one team serialise and none is lost. `differences()` compares both tables with a full
recomputation; `manage.py reconcile_scores` and the nightly task report any difference.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import threading
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from .engine import Cell, GroupTotals, ScoreInputs, cells_statement, score_inputs
from .models import ProjectRollup, TeamRollup, TeamScoreRevision

_local = threading.local()
EPSILON = 1e-6


def _deferred() -> bool:
    return getattr(_local, "deferred", 0) > 0


@contextlib.contextmanager
def deferred():
    """Bulk loads (seed_demo, imports): no per-event refresh inside, one full rebuild at the end."""
    _local.deferred = getattr(_local, "deferred", 0) + 1
    try:
        yield
    finally:
        _local.deferred -= 1
    if not _deferred():
        rebuild()


def _tables():
    from accounts.models import Team
    from assessments.models import Project

    return {"pr": ProjectRollup._meta.db_table, "tr": TeamRollup._meta.db_table,
            "project": Project._meta.db_table, "team": Team._meta.db_table}


INSERT_CELLS = """
INSERT INTO {pr} (project_id, team_id, practice_id, weighted_sum, weight_total, projects, covered, scored, verified,
                  capped, stale, accepted)
WITH cells(group_id, practice_id, wsum, wtot, covered, scored, verified, capped, stale, accepted) AS (
{cells}
)
SELECT c.group_id, p.team_id, c.practice_id, COALESCE(c.wsum, 0), COALESCE(c.wtot, 0), 0, c.covered, c.scored,
       c.verified, c.capped, COALESCE(c.stale, 0) = 1, COALESCE(c.accepted, 0) = 1
FROM cells c JOIN {project} p ON p.id = c.group_id
"""

# One row per project: counted (in scope now) and covered (an approved assessment counts).
INSERT_TOTALS = """
INSERT INTO {pr} (project_id, team_id, practice_id, weighted_sum, weight_total, projects, covered, scored, verified,
                  capped, stale, accepted)
SELECT p.id, p.team_id, NULL, 0, 0,
       CASE WHEN p.created_at <= %s AND (p.archived_at IS NULL OR p.archived_at > %s) THEN 1 ELSE 0 END,
       CASE WHEN p.created_at <= %s AND (p.archived_at IS NULL OR p.archived_at > %s) AND EXISTS (
           SELECT 1 FROM {assessment} a WHERE a.project_id = p.id AND a.status = 'approved' AND a.reviewed_at <= %s
             AND (a.superseded_at IS NULL OR a.superseded_at > %s)) THEN 1 ELSE 0 END,
       0, 0, 0, {false}, {false}
FROM {project} p WHERE 1 = 1{scope}
"""

INSERT_TEAMS = """
INSERT INTO {tr} (team_id, practice_id, weighted_sum, weight_total, projects, covered, scored, verified, capped,
                  stale, accepted)
SELECT team_id, practice_id, SUM(weighted_sum), SUM(weight_total), SUM(projects), SUM(covered), SUM(scored),
       SUM(verified), SUM(capped), MAX(CASE WHEN stale THEN 1 ELSE 0 END) = 1,
       MAX(CASE WHEN accepted THEN 1 ELSE 0 END) = 1
FROM {pr} WHERE 1 = 1{scope}
GROUP BY team_id, practice_id
"""


def _in(column: str, ids) -> tuple[str, list]:
    if ids is None:
        return "", []
    if not ids:
        return " AND 1 = 0", []
    return f" AND {column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _write_projects(cursor, project_ids: list[int] | None, moment: dt.datetime) -> None:
    from assessments.models import Assessment

    tables = {**_tables(), "assessment": Assessment._meta.db_table}
    scope, params = _in("project_id", project_ids)
    cursor.execute(f"DELETE FROM {tables['pr']} WHERE 1 = 1{scope}", params)  # noqa: S608 (names from models, values bound)
    cells, cell_params = cells_statement(moment=moment, group_by="project", project_ids=project_ids)
    cursor.execute(INSERT_CELLS.format(cells=cells, **tables), cell_params)
    t = connection.ops.adapt_datetimefield_value(moment)
    scope, params = _in("p.id", project_ids)
    false = "FALSE" if connection.vendor == "postgresql" else "0"
    cursor.execute(INSERT_TOTALS.format(scope=scope, false=false, **tables), [t, t, t, t, t, t, *params])


# A new random revision for every team whose rows were rewritten (the cache's key, scoring/cache.py).
BUMP_REVISIONS = """
INSERT INTO {rev} (team_id, revision) SELECT t.id, %s FROM {team} t WHERE 1 = 1{scope}
ON CONFLICT (team_id) DO UPDATE SET revision = excluded.revision
"""


TEAM_ROWS = """SELECT team_id, practice_id, weighted_sum, weight_total, projects, covered, scored, verified, capped,
stale, accepted FROM {tr} WHERE 1 = 1{scope}"""


def _team_rows(cursor, tables, scope, params) -> dict[int, set]:
    rows: dict[int, set] = {}
    cursor.execute(TEAM_ROWS.format(scope=scope, **tables), params)  # noqa: S608 (names from models, values bound)
    for row in cursor.fetchall():
        rows.setdefault(row[0], set()).add(
            (row[1], *(round(float(v), 9) for v in row[2:9]), bool(row[9]), bool(row[10])))
    return rows


def _write_teams(cursor, team_ids: list[int] | None, *, renew_revisions: bool = True) -> None:
    """Re-add the teams' rows from their projects' rows. A team whose rows came out different gets a new
    revision (scoring/cache.py); a re-run check with the same verdict changes nothing a reader sees, so
    the remembered scorecard stays. A full rebuild renews every revision."""
    tables = _tables()
    scope, params = _in("team_id", team_ids)
    before = _team_rows(cursor, tables, scope, params) if team_ids is not None else None
    cursor.execute(f"DELETE FROM {tables['tr']} WHERE 1 = 1{scope}", params)  # noqa: S608 (names from models, values bound)
    cursor.execute(INSERT_TEAMS.format(scope=scope, **tables), params)
    if not renew_revisions:
        return
    if before is not None:
        after = _team_rows(cursor, tables, scope, params)
        team_ids = [pk for pk in team_ids if before.get(pk) != after.get(pk)]
        if not team_ids:
            return
    scope, params = _in("t.id", team_ids)
    cursor.execute(BUMP_REVISIONS.format(rev=TeamScoreRevision._meta.db_table, scope=scope, **tables),
                   [secrets.randbits(62), *params])


def refresh_projects(project_ids, *, moment: dt.datetime | None = None) -> None:
    """Recompute the rows of these projects and of their teams (before and after a move), in the caller's
    transaction. Call it after the event's last write; calling it twice is harmless."""
    from accounts.models import Team
    from assessments.models import Project

    ids = sorted({int(pk) for pk in project_ids if pk is not None})
    if not ids or _deferred():
        return
    moment = moment or timezone.now()
    with transaction.atomic():
        # Lock the projects (one refresh per project at a time), then their teams in id order.
        now_teams = set(Project.objects.select_for_update().filter(pk__in=ids).order_by("pk")
                        .values_list("team_id", flat=True))
        old_teams = set(ProjectRollup.objects.filter(project_id__in=ids).values_list("team_id", flat=True))
        team_ids = sorted(now_teams | old_teams)
        list(Team.objects.select_for_update().filter(pk__in=team_ids).order_by("pk").values_list("pk", flat=True))
        with connection.cursor() as cursor:
            _write_projects(cursor, ids, moment)
            _write_teams(cursor, team_ids)


def refresh_teams(team_ids) -> None:
    """Re-add the rows of these teams from their projects' rows (after a project was deleted)."""
    from accounts.models import Team

    ids = sorted({int(pk) for pk in team_ids if pk is not None})
    if not ids or _deferred():
        return
    with transaction.atomic():
        list(Team.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        with connection.cursor() as cursor:
            _write_teams(cursor, ids)


@transaction.atomic
def rebuild(*, moment: dt.datetime | None = None, renew_revisions: bool = True) -> None:
    """Recompute every row from scratch: set-based, a few statements whatever the size. (Migration 0002
    runs it before the revisions' table exists: `renew_revisions=False`.)"""
    with connection.cursor() as cursor:
        _write_projects(cursor, None, moment or timezone.now())
        _write_teams(cursor, None, renew_revisions=renew_revisions)


def _cell(row) -> Cell:
    group_id, practice_id, wsum, wtot, _projects, covered, scored, verified, capped, stale, accepted = row
    return Cell(group_id, practice_id, wsum, wtot, covered, scored, verified, capped, bool(stale), bool(accepted))


def _read(table_key: str, group_column: str, group_ids, *, practice_ids=None, where_column: str | None = None) -> ScoreInputs:
    """One query: the cells and the totals of the groups whose `where_column` (default: the group) is in
    `group_ids` (None: every group)."""
    where_column = where_column or group_column
    filter_in_python = group_ids is not None and len(group_ids) > 5000  # a long IN list costs more than it saves
    scope, params = ("", []) if filter_in_python else _in(where_column, group_ids)
    columns = "practice_id, weighted_sum, weight_total, projects, covered, scored, verified, capped, stale, accepted"
    select = group_column if where_column == group_column else f"{group_column}, {where_column}"
    sql = f"SELECT {select}, {columns} FROM {_tables()[table_key]} WHERE 1 = 1{scope}"  # noqa: S608 (bound values)
    if practice_ids is not None:
        practice_sql, practice_params = _in("practice_id", practice_ids)
        sql += f" AND (practice_id IS NULL{practice_sql.replace(' AND', ' OR', 1)})"
        params += practice_params
    keep = set(group_ids) if filter_in_python else None
    inputs = ScoreInputs()
    cells, totals = inputs.cells, inputs.totals
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if where_column != group_column:  # drop the filter column
        if keep is not None:
            rows = [row for row in rows if row[1] in keep]
            keep = None
        rows = [(row[0], *row[2:]) for row in rows]
    for row in rows:
        if keep is not None and row[0] not in keep:
            continue
        if row[1] is None:
            if row[4]:
                totals[row[0]] = GroupTotals(projects=row[4], covered=row[5])
        else:
            cells[(row[0], row[1])] = _cell(row)
    return inputs


def team_inputs(team_ids=None) -> ScoreInputs:
    """The scorecard's inputs for now, from the rollup: one query."""
    return _read("tr", "team_id", team_ids)


def project_inputs(*, team_ids=None, project_ids=None, practice_ids=None) -> ScoreInputs:
    """Per project × practice inputs for now, from the rollup: one query (the projects' or the teams' rows,
    read by the team index; a project's row names the team it is counted in, kept in step by every move)."""
    if project_ids is not None:  # (the caller's projects: the teams would add nothing)
        return _read("pr", "project_id", project_ids, practice_ids=practice_ids)
    if team_ids is not None:
        return _read("pr", "project_id", list(team_ids), practice_ids=practice_ids, where_column="team_id")
    return _read("pr", "project_id", None, practice_ids=practice_ids)


# --- reconciliation -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    level: str  # "team" or "project"
    group_id: int
    practice_id: int | None  # None: the group's totals
    field: str
    stored: object
    expected: object

    def __str__(self) -> str:
        where = f"practice {self.practice_id}" if self.practice_id else "totals"
        return f"{self.level} {self.group_id} {where}: {self.field} is {self.stored}, recomputed {self.expected}"


CELL_FIELDS = ("weighted_sum", "weight_total", "covered", "scored", "verified", "capped", "stale", "accepted")
TOTAL_FIELDS = ("projects", "covered")


def _values(inputs: ScoreInputs) -> dict[tuple[int, int | None], tuple]:
    values: dict[tuple[int, int | None], tuple] = {}
    for key, c in inputs.cells.items():
        values[key] = (c.weighted_sum, c.weight_total, c.covered, c.scored, c.verified, c.capped, c.stale, c.accepted)
    for group, t in inputs.totals.items():
        values[(group, None)] = (t.projects, t.covered)
    return values


def _compare(level: str, stored: ScoreInputs, expected: ScoreInputs) -> list[Difference]:
    found = []
    got, want = _values(stored), _values(expected)
    for key in sorted(set(got) | set(want), key=lambda k: (k[0], k[1] or 0)):
        names = TOTAL_FIELDS if key[1] is None else CELL_FIELDS
        a, b = got.get(key, (0,) * len(names)), want.get(key, (0,) * len(names))
        if a == b:
            continue
        for name, x, y in zip(names, a, b, strict=True):
            if abs(float(x) - float(y)) > EPSILON:
                found.append(Difference(level, key[0], key[1], name, x, y))
    return found


CHUNK = 2000  # projects compared at a time: memory stays bounded at any size


def differences(*, moment: dt.datetime | None = None) -> list[Difference]:
    """Every cell where the rollup and a full recomputation disagree, read from one consistent snapshot."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        moment = moment or timezone.now()
        found = _compare("team", team_inputs(), score_inputs(moment=moment))
        from assessments.models import Project

        ids = sorted(set(Project.objects.values_list("pk", flat=True))
                     | set(ProjectRollup.objects.values_list("project_id", flat=True)))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            found += _compare("project", project_inputs(project_ids=chunk),
                              score_inputs(moment=moment, group_by="project", project_ids=chunk))
    return found
