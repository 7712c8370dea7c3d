"""Scorecards for people, live or from the daily snapshots, and the snapshots themselves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from controls.models import CatalogRelease, Practice

from .engine import Cell, GroupTotals, ScoreInputs, percent, score_inputs, weighted_mean
from .models import ScoreSnapshot


@dataclass
class PracticeScore:
    practice: Practice
    score: float | None
    coverage: float | None
    verified: float | None
    stale: bool = False
    accepted: bool = False
    capped: int = 0
    scored: int = 0

    @property
    def code(self) -> str:
        return self.practice.code


@dataclass
class TeamScore:
    team: Team
    score: float | None
    coverage: float | None
    verified: float | None
    projects: int
    covered_projects: int
    practices: list[PracticeScore] = field(default_factory=list)


@dataclass
class Scorecard:
    as_of: dt.date
    moment: dt.datetime
    source: str  # "live" or "snapshot"
    catalog_version: str
    score: float | None
    coverage: float | None
    verified: float | None
    teams: list[TeamScore]
    practices: list[PracticeScore]  # organisation-wide, over the teams in the scorecard

    def weakest(self, n: int = 5) -> list[PracticeScore]:
        scored = [p for p in self.practices if p.score is not None]
        return sorted(scored, key=lambda p: (p.score, p.practice.number))[:n]


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)


def _merge(cells: list[Cell]) -> Cell:
    merged = Cell(group_id=0, practice_id=cells[0].practice_id if cells else 0)
    for cell in cells:
        merged.weighted_sum += cell.weighted_sum
        merged.weight_total += cell.weight_total
        merged.covered += cell.covered
        merged.scored += cell.scored
        merged.verified += cell.verified
        merged.capped += cell.capped
        merged.stale |= cell.stale
        merged.accepted |= cell.accepted
    return merged


def _practice_score(practice: Practice, cell: Cell | None, projects: int) -> PracticeScore:
    if cell is None:
        return PracticeScore(practice, None, percent(0, projects), None)
    return PracticeScore(
        practice, cell.score, percent(cell.covered, projects), percent(cell.verified, cell.scored),
        stale=cell.stale, accepted=cell.accepted, capped=cell.capped, scored=cell.scored,
    )


def assemble(inputs: ScoreInputs, teams: list[Team], practices: list[Practice], *, as_of: dt.date,
             moment: dt.datetime, source: str) -> Scorecard:
    """Team and organisation figures from the group × practice sums (pure arithmetic, no queries)."""
    team_scores = []
    for team in teams:
        totals = inputs.totals.get(team.pk, GroupTotals())
        rows = [_practice_score(p, inputs.cells.get((team.pk, p.pk)), totals.projects) for p in practices]
        cells = [inputs.cells[(team.pk, p.pk)] for p in practices if (team.pk, p.pk) in inputs.cells]
        team_scores.append(TeamScore(
            team=team,
            score=weighted_mean((r.score, r.practice.weight) for r in rows),
            coverage=percent(totals.covered, totals.projects),
            verified=percent(sum(c.verified for c in cells), sum(c.scored for c in cells)),
            projects=totals.projects, covered_projects=totals.covered, practices=rows,
        ))
    team_ids = {t.pk for t in teams}
    projects = sum(inputs.totals.get(pk, GroupTotals()).projects for pk in team_ids)
    covered = sum(inputs.totals.get(pk, GroupTotals()).covered for pk in team_ids)
    org_rows = []
    for practice in practices:
        cells = [inputs.cells[(pk, practice.pk)] for pk in team_ids if (pk, practice.pk) in inputs.cells]
        org_rows.append(_practice_score(practice, _merge(cells) if cells else None, projects))
    all_cells = [c for (pk, _), c in inputs.cells.items() if pk in team_ids]
    return Scorecard(
        as_of=as_of, moment=moment, source=source, catalog_version=CatalogRelease.current_version(),
        score=weighted_mean((r.score, r.practice.weight) for r in org_rows),
        coverage=percent(covered, projects),
        verified=percent(sum(c.verified for c in all_cells), sum(c.scored for c in all_cells)),
        teams=team_scores, practices=org_rows,
    )


def parse_as_of(value: str | None) -> dt.date | None:
    """`YYYY-MM-DD`, not in the future; None means now."""
    if value in (None, ""):
        return None
    try:
        day = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError({"as_of": ["Use a date in the form YYYY-MM-DD."]}) from None
    if day > timezone.localdate():
        raise ValidationError({"as_of": ["as_of cannot be in the future."]})
    return day


def scorecard_for(teams: list[Team], *, as_of: dt.date | None = None) -> Scorecard:
    """Live for today; from the snapshots for a past day (computed from history if that day has none)."""
    practices = list(Practice.objects.active().order_by("number"))
    today = timezone.localdate()
    if as_of is None or as_of >= today:
        moment = timezone.now()
        inputs = score_inputs(moment=moment, team_ids=[t.pk for t in teams])
        return assemble(inputs, teams, practices, as_of=today, moment=moment, source="live")
    moment = end_of_day(as_of)
    inputs = inputs_from_snapshots(as_of, [t.pk for t in teams])
    if inputs is None:
        inputs = score_inputs(moment=moment, team_ids=[t.pk for t in teams])
        return assemble(inputs, teams, practices, as_of=as_of, moment=moment, source="history")
    return assemble(inputs, teams, practices, as_of=as_of, moment=moment, source="snapshot")


def inputs_from_snapshots(day: dt.date, team_ids: list[int]) -> ScoreInputs | None:
    rows = list(ScoreSnapshot.objects.filter(day=day, team_id__in=team_ids))
    if not rows and not ScoreSnapshot.objects.filter(day=day).exists():
        return None
    inputs = ScoreInputs()
    for row in rows:
        if row.practice_id is None:
            inputs.totals[row.team_id] = GroupTotals(projects=row.projects, covered=row.covered)
        else:
            inputs.cells[(row.team_id, row.practice_id)] = Cell(
                group_id=row.team_id, practice_id=row.practice_id, weighted_sum=row.weighted_sum,
                weight_total=row.weight_total, covered=row.covered, scored=row.scored,
                verified=row.verified_count, capped=row.capped, stale=row.stale, accepted=row.accepted,
            )
    return inputs


@transaction.atomic
def snapshot_scores(*, day: dt.date | None = None) -> int:
    """Store `day`'s scores (today: as of now; a past day: as it stood at the end of it). Re-runs replace."""
    today = timezone.localdate()
    day = day or today
    moment = timezone.now() if day >= today else end_of_day(day)
    teams = list(Team.objects.order_by("pk"))
    practices = list(Practice.objects.active().order_by("number"))
    inputs = score_inputs(moment=moment)
    card = assemble(inputs, teams, practices, as_of=day, moment=moment, source="live")
    rows = []
    for team_score in card.teams:
        team = team_score.team
        rows.append(ScoreSnapshot(
            day=day, team=team, score=team_score.score, coverage=team_score.coverage, verified=team_score.verified,
            projects=team_score.projects, covered=team_score.covered_projects,
        ))
        for ps in team_score.practices:
            cell = inputs.cells.get((team.pk, ps.practice.pk), Cell(team.pk, ps.practice.pk))
            rows.append(_snapshot_row(day, team, ps, cell))
    rows.append(ScoreSnapshot(day=day, score=card.score, coverage=card.coverage, verified=card.verified,
                              projects=sum(t.projects for t in card.teams),
                              covered=sum(t.covered_projects for t in card.teams)))
    for ps in card.practices:
        cells = [inputs.cells[(t.pk, ps.practice.pk)] for t in teams if (t.pk, ps.practice.pk) in inputs.cells]
        rows.append(_snapshot_row(day, None, ps, _merge(cells) if cells else Cell(0, ps.practice.pk)))
    ScoreSnapshot.objects.filter(day=day).delete()
    ScoreSnapshot.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _snapshot_row(day, team, ps: PracticeScore, cell: Cell) -> ScoreSnapshot:
    return ScoreSnapshot(
        day=day, team=team, practice=ps.practice, score=ps.score, coverage=ps.coverage, verified=ps.verified,
        stale=cell.stale, accepted=cell.accepted, weighted_sum=cell.weighted_sum, weight_total=cell.weight_total,
        covered=cell.covered, scored=cell.scored, verified_count=cell.verified, capped=cell.capped,
    )


def trend(*, team: Team | None = None, days: int = 90) -> list[tuple[dt.date, float | None, float | None]]:
    """(day, score, coverage) for the organisation or one team over the last `days` days: one query."""
    start = timezone.localdate() - dt.timedelta(days=days - 1)
    rows = ScoreSnapshot.objects.filter(day__gte=start, practice__isnull=True)
    rows = rows.filter(team=team) if team else rows.filter(team__isnull=True)
    return list(rows.order_by("day").values_list("day", "score", "coverage"))
