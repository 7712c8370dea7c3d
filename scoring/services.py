"""Scorecards for people, live or from the daily snapshots, and the snapshots themselves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Team
from controls.models import CatalogRelease, Practice

from . import cache, rollup
from .engine import Cell, GroupTotals, ScoreInputs, percent, score_inputs, weighted_mean
from .models import ScoreSnapshot


@dataclass(slots=True)
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
        _add(merged, cell)
    return merged


def _add(total: Cell, cell: Cell) -> None:
    total.weighted_sum += cell.weighted_sum
    total.weight_total += cell.weight_total
    total.covered += cell.covered
    total.scored += cell.scored
    total.verified += cell.verified
    total.capped += cell.capped
    total.stale |= cell.stale
    total.accepted |= cell.accepted


def _practice_score(practice: Practice, cell: Cell | None, projects: int) -> PracticeScore:
    if cell is None:
        return PracticeScore(practice, None, percent(0, projects), None)
    return PracticeScore(
        practice, cell.score, percent(cell.covered, projects), percent(cell.verified, cell.scored),
        cell.stale, cell.accepted, cell.capped, cell.scored,
    )


def assemble(inputs: ScoreInputs, teams: list[Team], practices: list[Practice], *, as_of: dt.date,
             moment: dt.datetime, source: str) -> Scorecard:
    """Team and organisation figures from the group × practice sums: pure arithmetic, one pass, no queries.

    At 200 teams this loops over 5,000 cells, so it reads `.id` (not the `pk` property) and keeps the
    practice ids and weights in local lists.
    """
    cells = inputs.cells
    practice_ids = [p.id for p in practices]
    weights = [p.weight for p in practices]
    org_cells = [Cell(group_id=0, practice_id=pid) for pid in practice_ids]
    team_scores = []
    projects = covered = org_verified = org_scored = 0
    for team in teams:
        team_id = team.id
        totals = inputs.totals.get(team_id) or GroupTotals()
        rows, verified, scored = [], 0, 0
        for index, practice in enumerate(practices):
            cell = cells.get((team_id, practice_ids[index]))
            rows.append(_practice_score(practice, cell, totals.projects))
            if cell is not None:
                verified += cell.verified
                scored += cell.scored
                _add(org_cells[index], cell)
        team_scores.append(TeamScore(
            team=team, score=weighted_mean(zip((r.score for r in rows), weights, strict=True)),
            coverage=percent(totals.covered, totals.projects), verified=percent(verified, scored),
            projects=totals.projects, covered_projects=totals.covered, practices=rows,
        ))
        projects += totals.projects
        covered += totals.covered
        org_verified += verified
        org_scored += scored
    org_rows = [_practice_score(p, org_cells[i] if org_cells[i].covered else None, projects)
                for i, p in enumerate(practices)]
    return Scorecard(
        as_of=as_of, moment=moment, source=source, catalog_version=CatalogRelease.current_version(),
        score=weighted_mean(zip((r.score for r in org_rows), weights, strict=True)),
        coverage=percent(covered, projects), verified=percent(org_verified, org_scored),
        teams=team_scores, practices=org_rows,
    )


def parse_as_of(value: str | None) -> dt.date | None:
    """`YYYY-MM-DD`, not in the future; None means now."""
    if value in (None, ""):
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        day = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError({"as_of": ["Use a date in the form YYYY-MM-DD."]}) from None
    if day > timezone.localdate():
        raise ValidationError({"as_of": ["as_of cannot be in the future."]})
    return day


def is_live(as_of: dt.date | None) -> bool:
    return as_of is None or as_of >= timezone.localdate()


def _live(teams: list[Team], practices: list[Practice]) -> Scorecard:
    """Now: the rollup, kept up to date by every event (rollup.py)."""
    inputs = rollup.team_inputs([t.id for t in teams])
    return assemble(inputs, teams, practices, as_of=timezone.localdate(), moment=timezone.now(), source="live")


def remembered_live(kind: str, teams, render):
    """`render(today's scorecard)`, remembered until a team's rows, a practice or the day change
    (cache.py). `kind` names what `render` makes; what it returns must pickle, and may use of a team
    only its id, slug and name. `teams` is a list of teams or a queryset of them. A queryset is read as
    rows (2,000 model instances cost more than the rest of a remembered request), and on PostgreSQL
    only when the document has to be built: its key is digested in the database."""
    practices = list(Practice.objects.active().order_by("number"))
    version, today = CatalogRelease.current_version(), timezone.localdate()

    def build(rows):
        # Keyed by the very rows it is built from; their revisions are read before the rollup rows, so
        # the document can only be newer than its key.
        return (cache.key_of_rows(kind, rows, practices, catalog_version=version, today=today),
                render(_live(rows, practices)))

    if isinstance(teams, QuerySet):
        key = cache.key_in_database(kind, teams, practices, catalog_version=version, today=today)
        if key is not None:
            return cache.remember(key, lambda: build(cache.rows_with_revisions(teams)))
        rows = cache.rows_with_revisions(teams)
        return cache.remember(cache.key_of_rows(kind, rows, practices, catalog_version=version, today=today),
                              lambda: build(rows))
    key = cache.key(kind, teams, practices, catalog_version=version, today=today)
    return cache.remember(key, lambda: (key, render(_live(teams, practices))))


def scorecard_for(teams: list[Team], *, as_of: dt.date | None = None) -> Scorecard:
    """Live for today; from the snapshots for a past day (computed from history if that day has none)."""
    practices = list(Practice.objects.active().order_by("number"))
    if is_live(as_of):
        return _live(teams, practices)
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


@transaction.atomic(durable=True)
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


def prune_snapshots(*, retention_days: int, now: dt.datetime | None = None) -> int:
    """Delete the daily snapshots older than the retention (the check runs are pruned by the checks)."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=retention_days)
    deleted, _ = ScoreSnapshot.objects.filter(day__lt=cutoff.date()).delete()
    return deleted


def trend(*, team: Team | None = None, days: int = 90,
          live: tuple[float | None, float | None] | None = None) -> list[tuple[dt.date, float | None, float | None]]:
    """(day, score, coverage) for the organisation or one team over the last `days` days: one query.

    With `live` (today's score and coverage as the page's headline shows them), today's point is that
    live value rather than the snapshot taken earlier today, so the chart and the headline agree.
    """
    today = timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    rows = ScoreSnapshot.objects.filter(day__gte=start, practice__isnull=True)
    rows = rows.filter(team=team) if team else rows.filter(team__isnull=True)
    points = list(rows.order_by("day").values_list("day", "score", "coverage"))
    if live is not None:
        points = [p for p in points if p[0] < today] + [(today, *live)]
    return points


def trend_window(days: int = 90) -> tuple[dt.date, dt.date]:
    """The first and last day a `days`-long trend covers, ending today."""
    today = timezone.localdate()
    return today - dt.timedelta(days=days - 1), today


def checks_in_progress(user, *, team_ids=None) -> int:
    """Check runs queued or running in `user`'s scope: the figures they feed are still being computed."""
    return sum(checks_in_progress_by_team(user, team_ids=team_ids).values())


def check_run_counts(user) -> tuple[int, int]:
    """(failing verdicts in force, runs queued or running) in `user`'s scope, in one query."""
    from django.db.models import Count, Q

    from checks.choices import ACTIVE_STATUSES, RunStatus
    from checks.models import CheckRun

    failing = Q(status=RunStatus.FAILED, superseded_at__isnull=True)
    running = Q(status__in=ACTIVE_STATUSES)
    counts = (CheckRun.objects.visible_to(user).filter(project__archived_at__isnull=True).filter(failing | running)
              .aggregate(failing=Count("pk", filter=failing), running=Count("pk", filter=running)))
    return counts["failing"], counts["running"]


def checks_in_progress_by_team(user, *, team_ids=None) -> dict[int, int]:
    """{team id: check runs queued or running} in `user`'s scope, in one query."""
    from django.db.models import Count

    from checks.choices import ACTIVE_STATUSES
    from checks.models import CheckRun

    runs = CheckRun.objects.visible_to(user).filter(status__in=ACTIVE_STATUSES, project__archived_at__isnull=True)
    if team_ids is not None:
        runs = runs.filter(project__team_id__in=team_ids)
    return dict(runs.values_list("project__team_id").annotate(n=Count("pk")).order_by())


@dataclass
class ProjectScore:
    score: float | None
    verified: float | None
    cells: dict[int, Cell]  # practice id → the project's cell


def project_scores(*, team_ids=None, project_ids=None, moment: dt.datetime | None = None) -> dict[int, ProjectScore]:
    """Each project's overall score (practice-weight mean of its approved, capped levels): two queries."""
    practices = {p.pk: p.weight for p in Practice.objects.active().only("pk", "weight")}
    if moment is None:  # now: the rollup
        inputs = rollup.project_inputs(team_ids=team_ids, project_ids=project_ids)
    else:
        inputs = score_inputs(moment=moment, group_by="project", team_ids=team_ids, project_ids=project_ids)
    by_project: dict[int, dict[int, Cell]] = {}
    for (project_id, practice_id), cell in inputs.cells.items():
        if practice_id in practices:
            by_project.setdefault(project_id, {})[practice_id] = cell
    result = {}
    for project_id, cells in by_project.items():
        scored = [c for c in cells.values() if c.scored]
        result[project_id] = ProjectScore(
            score=weighted_mean((c.score, practices[pid]) for pid, c in cells.items()),
            verified=percent(sum(c.verified for c in scored), sum(c.scored for c in scored)),
            cells=cells,
        )
    return result


@dataclass
class PracticeRow:
    """One practice on a project's page: its approved answer, its score after any cap, its support."""

    practice: Practice
    answer: object | None
    cell: Cell | None
    evidence_count: int = 0
    checks: list = field(default_factory=list)  # latest run of each check covering the practice

    @property
    def score(self) -> float | None:
        return self.cell.score if self.cell else None

    @property
    def effective_level(self) -> int | None:
        if self.cell is None or self.cell.score is None:
            return None
        return int(self.cell.score // 25)


def project_practice_rows(project) -> tuple[object | None, list[PracticeRow]]:
    """The project page's practice table: seven queries whatever the number of runs and evidence."""
    from django.db.models import Count

    from assessments.choices import AssessmentStatus
    from checks.models import CheckDefinition, CheckRun
    from evidence.models import Evidence, EvidenceLink

    current = (project.assessments.filter(status=AssessmentStatus.APPROVED, superseded_at__isnull=True)
               .order_by("-reviewed_at").first())
    answers = {a.practice_id: a for a in current.answers.all()} if current else {}
    cells = project_scores(project_ids=[project.pk]).get(project.pk)
    evidence = dict(Evidence.objects.current().filter(project=project).exclude(status="rejected")
                    .values_list("practice_id").annotate(n=Count("pk")))
    for practice_id, n in (EvidenceLink.objects.filter(project=project, unlinked_at__isnull=True,
                                                       evidence__superseded_at__isnull=True)
                           .exclude(evidence__status="rejected").values_list("practice_id").annotate(n=Count("pk"))):
        evidence[practice_id] = evidence.get(practice_id, 0) + n  # shared documents linked to the project
    latest = {run.definition_id: run for run in CheckRun.objects.filter(project=project).latest_per_check()}
    covering: dict[int, list] = {}
    for definition in CheckDefinition.objects.prefetch_related("practices"):
        run = latest.get(definition.key)
        for practice in definition.practices.all():
            covering.setdefault(practice.pk, []).append((definition, run))
    rows = [
        PracticeRow(practice=p, answer=answers.get(p.pk), cell=(cells.cells.get(p.pk) if cells else None),
                    evidence_count=evidence.get(p.pk, 0), checks=covering.get(p.pk, []))
        for p in Practice.objects.active().order_by("number")
    ]
    return current, rows


WEAK_BELOW = 50.0  # level 0 or 1 after any cap


@dataclass
class ProjectOnPractice:
    """One project's standing on one practice: its approved answer, after any cap."""

    project: object
    cell: Cell | None
    assessed: bool  # an approved assessment is in force
    answer: object | None

    @property
    def score(self) -> float | None:
        return self.cell.score if self.cell else None

    @property
    def level(self) -> int | None:
        return None if self.score is None else int(self.score // 25)

    @property
    def weak(self) -> bool:
        return self.score is not None and self.score < WEAK_BELOW

    @property
    def state(self) -> str:
        if not self.assessed:
            return "not assessed"
        if self.answer is not None and self.answer.not_applicable:
            return "not applicable"
        if self.score is None:
            return "unanswered"
        return "weak" if self.weak else "ok"


def projects_on_practice(projects, practice: Practice, *, team_ids=None) -> list[ProjectOnPractice]:
    """Each project of the `projects` queryset on `practice`, weakest first, then the unscored.

    `team_ids` (None: every team) bounds the score aggregate; four queries for any number of projects.
    """
    from assessments.models import Answer, Assessment

    inputs = rollup.project_inputs(team_ids=team_ids, practice_ids=[practice.pk])
    current = Assessment.objects.current_approved().filter(project__in=projects.values("pk"))
    answers = {a.assessment.project_id: a for a in Answer.objects.filter(practice=practice, assessment__in=current)
               .select_related("assessment")}
    rows = []
    for project in projects:
        totals = inputs.totals.get(project.pk)
        rows.append(ProjectOnPractice(project=project, cell=inputs.cells.get((project.pk, practice.pk)),
                                      assessed=bool(totals and totals.covered), answer=answers.get(project.pk)))
    return sorted(rows, key=lambda r: (r.score is None, r.score if r.score is not None else 0, r.project.name))
