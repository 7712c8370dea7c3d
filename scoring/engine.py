"""The scoring rules of docs/scoring.md, computed by the database.

`score_inputs()` runs ONE aggregate SQL statement that returns, for every group (team or project)
× practice, the raw sums the rules need; everything above it (team overall, organisation) is
arithmetic over those few hundred sums, never a loop over answers.

Point in time: every input is filtered "as it stood at `moment`":
- the approved assessment that counts has reviewed_at <= moment < superseded_at, and it is the only one:
  should two windows ever overlap (a database writer, a restored backup), the one reviewed last counts,
  so no project is ever counted twice;
- the check verdict that counts is the latest *decided* (passed/failed) run: finished_at <= moment < superseded_at;
- evidence was stored by then and not yet superseded; it is stale when valid_until < that day; shared
  evidence counts for each project × practice it was linked to at that moment (evidence_link);
- a risk acceptance counts when approved by then and not expired that day.

The check verdicts, evidence and acceptances are folded into one `flags` row per project × practice
(UNION ALL, then GROUP BY) so the answers need a single outer join; not-applicable answers carry no
level (a database constraint), so `ans.level IS NOT NULL` means "scored".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from assessments.choices import RISK_TIER_WEIGHTS

LEVEL_POINTS = 25.0  # level 0..4 → 0..100


@dataclass(slots=True)
class Cell:
    """One group (team or project) × practice: the sums behind its score."""

    group_id: int
    practice_id: int
    weighted_sum: float = 0.0  # Σ tier weight × (level × 25) over scored answers
    weight_total: float = 0.0  # Σ tier weight over scored answers
    covered: int = 0  # projects whose approved assessment answers the practice (a level or N/A)
    scored: int = 0  # of those, answered with a level (not applicable is excluded from scores)
    verified: int = 0  # scored answers backed by a passing check or accepted, valid evidence
    capped: int = 0  # scored answers held at level 1 by a failing check
    stale: bool = False
    accepted: bool = False

    @property
    def score(self) -> float | None:
        return self.weighted_sum / self.weight_total if self.weight_total else None


@dataclass(slots=True)
class GroupTotals:
    projects: int = 0  # projects in scope at the moment
    covered: int = 0  # of those, with an approved assessment


@dataclass
class ScoreInputs:
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    totals: dict[int, GroupTotals] = field(default_factory=dict)


def _tier_case(column: str) -> str:
    whens = " ".join(f"WHEN '{tier}' THEN {weight}" for tier, weight in RISK_TIER_WEIGHTS.items())
    return f"CASE {column} {whens} END"


def _in_clause(column: str, ids: Iterable[int] | None) -> tuple[str, list]:
    if ids is None:
        return "", []
    ids = list(ids)
    if not ids:
        return " AND 1 = 0", []
    return f" AND {column} IN ({', '.join(['%s'] * len(ids))})", ids


def _tables() -> dict[str, str]:
    from assessments.models import Answer, Assessment, Project, RiskAcceptance
    from checks.models import CheckDefinition, CheckRun
    from evidence.models import Evidence, EvidenceLink

    return {
        "answer": Answer._meta.db_table,
        "assessment": Assessment._meta.db_table,
        "project": Project._meta.db_table,
        "acceptance": RiskAcceptance._meta.db_table,
        "run": CheckRun._meta.db_table,
        "coverage": CheckDefinition.practices.through._meta.db_table,
        "evidence": Evidence._meta.db_table,
        "link": EvidenceLink._meta.db_table,
    }


# Evidence as it stood at moment T (params: T, day, day): accepted by T and not expired that day, and stale
# (expired before that day, unless rejected). Own evidence and shared evidence through a link share the rule.
EVIDENCE_FLAGS = """CASE WHEN e.status = 'accepted' AND e.reviewed_at <= %s
                     AND (e.valid_until IS NULL OR e.valid_until >= %s) THEN 1 ELSE 0 END,
               CASE WHEN e.status <> 'rejected' AND e.valid_until < %s THEN 1 ELSE 0 END"""

CELLS_SQL = """
WITH cur AS (
    SELECT a.id AS assessment_id, p.id AS project_id, {group_column} AS group_id, {tier_case} AS tier_weight
    FROM {assessment} a JOIN {project} p ON p.id = a.project_id
    WHERE a.status = 'approved' AND a.reviewed_at <= %s AND (a.superseded_at IS NULL OR a.superseded_at > %s)
      AND (p.archived_at IS NULL OR p.archived_at > %s){scope}
      AND NOT EXISTS (
          SELECT 1 FROM {assessment} b
          WHERE b.project_id = a.project_id AND b.status = 'approved' AND b.reviewed_at <= %s
            AND (b.superseded_at IS NULL OR b.superseded_at > %s)
            AND (b.reviewed_at > a.reviewed_at OR (b.reviewed_at = a.reviewed_at AND b.id > a.id))
      )
),
flags AS (
    SELECT project_id, practice_id, MAX(failing) AS failing, MAX(passing) AS passing,
           MAX(accepted_evidence) AS accepted_evidence, MAX(stale) AS stale, MAX(accepted) AS accepted
    FROM (
        SELECT r.project_id, cov.practice_id,
               CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END AS failing,
               CASE WHEN r.status = 'passed' THEN 1 ELSE 0 END AS passing,
               0 AS accepted_evidence, 0 AS stale, 0 AS accepted
        FROM {run} r JOIN {coverage} cov ON cov.checkdefinition_id = r.check_key
        WHERE r.status IN ('passed', 'failed') AND r.finished_at <= %s
          AND (r.superseded_at IS NULL OR r.superseded_at > %s)
        UNION ALL
        SELECT e.project_id, e.practice_id, 0, 0,
               {evidence_flags},
               0
        FROM {evidence} e
        WHERE e.kind <> 'check' AND e.project_id IS NOT NULL AND e.created_at <= %s
          AND (e.superseded_at IS NULL OR e.superseded_at > %s)
        UNION ALL
        SELECT l.project_id, l.practice_id, 0, 0,
               {evidence_flags},
               0
        FROM {link} l JOIN {evidence} e ON e.id = l.evidence_id
        WHERE e.created_at <= %s AND (e.superseded_at IS NULL OR e.superseded_at > %s)
          AND l.linked_at <= %s AND (l.unlinked_at IS NULL OR l.unlinked_at > %s)
        UNION ALL
        SELECT x.project_id, x.practice_id, 0, 0, 0, 0, 1
        FROM {acceptance} x
        WHERE x.status = 'approved' AND x.decided_at <= %s AND x.expires_on >= %s
    ) facts
    WHERE project_id IN (SELECT project_id FROM cur)
    GROUP BY project_id, practice_id
)
SELECT cur.group_id, ans.practice_id,
       SUM(cur.tier_weight * CASE WHEN f.failing = 1 AND ans.level > 1 THEN 1 ELSE ans.level END) * {points},
       SUM(CASE WHEN ans.level IS NOT NULL THEN cur.tier_weight ELSE 0 END),
       COUNT(*),
       COUNT(ans.level),
       SUM(CASE WHEN ans.level IS NOT NULL AND ((f.passing = 1 AND f.failing = 0) OR f.accepted_evidence = 1)
                THEN 1 ELSE 0 END),
       SUM(CASE WHEN f.failing = 1 AND ans.level > 1 THEN 1 ELSE 0 END),
       MAX(f.stale),
       MAX(f.accepted)
FROM {answer} ans
JOIN cur ON cur.assessment_id = ans.assessment_id
LEFT JOIN flags f ON f.project_id = cur.project_id AND f.practice_id = ans.practice_id
WHERE (ans.level IS NOT NULL OR ans.not_applicable = %s){practices}
GROUP BY cur.group_id, ans.practice_id
"""

TOTALS_SQL = """
SELECT {group_column} AS group_id, COUNT(DISTINCT p.id), COUNT(DISTINCT cur.project_id)
FROM {project} p
LEFT JOIN {assessment} cur ON cur.project_id = p.id AND cur.status = 'approved' AND cur.reviewed_at <= %s
     AND (cur.superseded_at IS NULL OR cur.superseded_at > %s)
WHERE p.created_at <= %s AND (p.archived_at IS NULL OR p.archived_at > %s){scope}
GROUP BY {group_column}
"""


# What a "group" is: a team, a project, or (for the EU AI Act) a role × risk class combination.
GROUP_COLUMNS = {"team": "p.team_id", "project": "p.id", "ai-act": "(p.ai_act_role || '|' || p.ai_act_risk_class)"}


def _statement(template: str, *, moment: dt.datetime, group_by: str, team_ids, project_ids,
               practice_ids=None) -> tuple[str, list]:
    if group_by not in GROUP_COLUMNS:
        raise ValueError(f"group_by is one of {', '.join(GROUP_COLUMNS)}")
    ops = connection.ops
    scope_sql, scope_params = _in_clause("p.team_id", team_ids)
    project_sql, project_params = _in_clause("p.id", project_ids)
    scope_sql += project_sql
    scope_params += project_params
    practice_sql, practice_params = _in_clause("ans.practice_id", practice_ids)
    t = ops.adapt_datetimefield_value(moment)
    day = ops.adapt_datefield_value(moment.date())
    sql = template.format(group_column=GROUP_COLUMNS[group_by], tier_case=_tier_case("p.risk_tier"), scope=scope_sql,
                          points=LEVEL_POINTS, practices=practice_sql, evidence_flags=EVIDENCE_FLAGS, **_tables())
    if template is TOTALS_SQL:
        return sql, [t, t, t, t, *scope_params]
    return sql, [t, t, t, *scope_params, t, t, t, t, t, day, day, t, t, t, day, day, t, t, t, t, t, day, True,
                 *practice_params]


def cells_statement(*, moment: dt.datetime, group_by: str = "team", team_ids=None, project_ids=None,
                    practice_ids=None) -> tuple[str, list]:
    """The group × practice sums as (SQL, params), for callers that aggregate them further in SQL.

    Columns: group_id, practice_id, weighted sum, weight total, covered, scored, verified, capped, stale, accepted.
    """
    return _statement(CELLS_SQL, moment=moment, group_by=group_by, team_ids=team_ids, project_ids=project_ids,
                      practice_ids=practice_ids)


def score_inputs(*, moment: dt.datetime, group_by: str = "team", team_ids=None, project_ids=None,
                 practice_ids=None) -> ScoreInputs:
    """Two aggregate queries: the group × practice sums, and the project counts per group."""
    scope = {"moment": moment, "group_by": group_by, "team_ids": team_ids, "project_ids": project_ids}
    inputs = ScoreInputs()
    with connection.cursor() as cursor:
        cursor.execute(*_statement(CELLS_SQL, **scope, practice_ids=practice_ids))
        cells = inputs.cells
        for group_id, practice_id, wsum, wtot, covered, scored, verified, capped, stale, accepted in cursor.fetchall():
            cells[(group_id, practice_id)] = Cell(
                group_id, practice_id, float(wsum or 0), float(wtot or 0), covered or 0, scored or 0, verified or 0,
                capped or 0, bool(stale), bool(accepted),
            )
        cursor.execute(*_statement(TOTALS_SQL, **scope))
        for group_id, projects, covered in cursor.fetchall():
            inputs.totals[group_id] = GroupTotals(projects=int(projects), covered=int(covered))
    return inputs


def weighted_mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """Mean of scores weighted by practice weight, skipping practices with no score."""
    num = den = 0.0
    for score, weight in pairs:
        if score is not None:
            num += score * weight
            den += weight
    return num / den if den else None


def percent(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None
