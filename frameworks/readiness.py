"""Framework readiness: how far the assessed practices carry each requirement of a framework.

The rule (docs/scoring.md, "Framework readiness"): a requirement's readiness is the practice-weighted
mean of the scores, in the scope, of the practices mapped to it or to any requirement below it (each
practice once); coverage and the verified share are summed over the same practices. A requirement no
practice maps to is "not covered by the catalogue" and has no readiness. For the EU AI Act a
requirement counts only the projects whose role × risk class it binds.

Costs: the framework's structure (four small queries), the projects in scope (one) and the scorecard's
project × practice sums (one aggregate statement, frameworks/engine.py); for a past day the team
figures come from the daily snapshots. Everything else is array arithmetic over those sums: a
bucket × practice table, one matrix product for all requirements, one for every requirement × project.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.utils import timezone

from controls.models import Practice
from scoring.engine import percent
from scoring.services import PracticeScore, end_of_day, inputs_from_snapshots

from . import engine
from .engine import ScopeProject
from .models import Applicability, Framework, Requirement, RequirementPractice
from .scope import ReadinessScope

ALL = "*"  # the one bucket of a framework that binds every project
UNCLASSIFIED = "|"  # the EU AI Act bucket of projects with no role and risk class yet
ADDITIVE = (engine.WSUM, engine.WTOT, engine.COVERED, engine.SCORED, engine.VERIFIED, engine.CAPPED)
FLAGS = (engine.STALE, engine.ACCEPTED)
WEAKEST = 3


# --- structure --------------------------------------------------------------------------------------

@dataclass
class Structure:
    """A framework's requirements, the practices behind each (as a matrix) and, for the AI Act, whom each binds."""

    framework: Framework
    requirements: list[Requirement]
    practices: list[Practice]  # active, by number: the columns of `closure`
    closure: np.ndarray  # requirements × practices, True where the practice is mapped to it or below it
    direct: dict[int, list[str]]  # requirement id → codes mapped to it in the data file
    binds: dict[int, frozenset[str]]  # requirement id → {"role|risk class"}; empty for ungated frameworks

    @property
    def weights(self) -> np.ndarray:
        return np.array([p.weight for p in self.practices], dtype=float)


def load_structures(frameworks: list[Framework]) -> dict[int, Structure]:
    """Structures of several frameworks in four queries."""
    ids = [f.pk for f in frameworks]
    practices = list(Practice.objects.active().only("id", "code", "number", "title", "weight").order_by("number"))
    column = {p.pk: k for k, p in enumerate(practices)}
    requirements: dict[int, list[Requirement]] = {f.pk: [] for f in frameworks}
    for requirement in Requirement.objects.filter(framework_id__in=ids).order_by("framework_id", "position"):
        requirements[requirement.framework_id].append(requirement)
    rows = {r.pk: (f, i) for f, items in requirements.items() for i, r in enumerate(items)}
    closure = {f.pk: np.zeros((len(requirements[f.pk]), len(practices)), dtype=bool) for f in frameworks}
    direct: dict[int, list[str]] = {}
    for requirement_id, practice_id, is_direct in RequirementPractice.objects.filter(
            requirement__framework_id__in=ids).order_by("practice__number").values_list(
            "requirement_id", "practice_id", "direct"):
        if practice_id in column:
            framework_id, row = rows[requirement_id]
            closure[framework_id][row, column[practice_id]] = True
            if is_direct:
                direct.setdefault(requirement_id, []).append(practices[column[practice_id]].code)
    binds: dict[int, set[str]] = {}
    gated = [f.pk for f in frameworks if f.gated]
    if gated:
        for requirement_id, role, risk_class in Applicability.objects.filter(
                requirement__framework_id__in=gated).values_list("requirement_id", "role", "risk_class"):
            binds.setdefault(requirement_id, set()).add(f"{role}|{risk_class}")
    return {f.pk: Structure(f, requirements[f.pk], practices, closure[f.pk],
                            {r.pk: direct.get(r.pk, []) for r in requirements[f.pk]},
                            {r.pk: frozenset(binds.get(r.pk, ())) for r in requirements[f.pk]} if f.gated else {})
            for f in frameworks}


# --- what the database gave, for one scope and moment ------------------------------------------------

@dataclass
class Inputs:
    """The scope's projects and their project × practice sums at a moment (shared by every framework)."""

    as_of: dt.date
    moment: dt.datetime
    live: bool
    projects: list[ScopeProject]
    cells: np.ndarray  # engine.project_cells rows
    snapshot: object | None = None  # scoring ScoreInputs from the daily snapshots (past days, teams only)
    indices: dict = field(default_factory=dict)  # the cells' row and column indices, per practice list


def gather(scope: ReadinessScope, *, as_of: dt.date | None = None, snapshots: bool = True,
           moment: dt.datetime | None = None) -> Inputs:
    """Two queries (projects, sums), plus one read of the snapshots for a past day at team scope.

    `moment` pins "now" for a caller that already took it (an export reads everything at one instant).
    """
    today = timezone.localdate()
    live = as_of is None or as_of >= today
    pinned = moment
    day, moment = (today, moment or timezone.now()) if live else (as_of, end_of_day(as_of))
    team_ids = None if scope.kind == "organisation" else scope.team_ids
    project_ids = [scope.project.pk] if scope.project else None
    projects = engine.projects_in_scope(moment=moment, team_ids=team_ids, project_ids=project_ids)
    if live and pinned is None:  # now: the scorecard's rollup
        cells = engine.rollup_cells(team_ids=team_ids, project_ids=project_ids)
    else:
        cells = engine.project_cells(moment=moment, team_ids=team_ids, project_ids=project_ids)
    snapshot = None
    if not live and snapshots and scope.project is None:
        snapshot = inputs_from_snapshots(as_of, scope.team_ids)
    return Inputs(day, moment, live, projects, cells, snapshot)


# --- results ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WeakProject:
    """A project behind a requirement's gap, with its own readiness for that requirement."""

    id: int
    name: str
    team: str
    team_name: str
    readiness: float


@dataclass
class RequirementReadiness:
    requirement: Requirement
    parent: str | None
    readiness: float | None
    coverage: float | None
    verified: float | None
    practices: list[PracticeScore]  # every practice behind the requirement, by number (a scorecard's figures)
    mapped: list[str]  # codes mapped to this requirement itself in the data file
    projects: int  # projects in scope that the requirement binds
    weakest: list[WeakProject] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return self.requirement.ref

    @property
    def covered_by_catalogue(self) -> bool:
        return bool(self.practices)

    @property
    def is_gap(self) -> bool:
        return self.readiness is not None and self.readiness < 100


@dataclass
class FrameworkReadiness:
    framework: Framework
    scope: ReadinessScope
    as_of: dt.date
    moment: dt.datetime
    source: str  # live, snapshot or history
    readiness: float | None
    coverage: float | None
    verified: float | None
    projects: int
    requirements: list[RequirementReadiness]
    unclassified_projects: int = 0  # EU AI Act: projects in scope with no role and risk class

    @property
    def not_covered(self) -> list[RequirementReadiness]:
        return [r for r in self.requirements if not r.covered_by_catalogue]

    @property
    def catalogue_coverage(self) -> float | None:
        """Share of the listed requirements without sub-requirements that some practice covers."""
        parents = {r.parent for r in self.requirements}
        leaves = [r for r in self.requirements if r.ref not in parents]
        return percent(sum(r.covered_by_catalogue for r in leaves), len(leaves))


# --- arithmetic -------------------------------------------------------------------------------------

@dataclass
class _Table:
    """Sums by bucket × practice (one matrix per column of engine.project_cells) and projects per bucket."""

    labels: list[str]
    sums: dict[int, np.ndarray]
    projects: np.ndarray


def _indices(structure: Structure, inputs: Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(practice column, project row, kept) of every cell row: computed once per inputs and practice list."""
    key = tuple(p.pk for p in structure.practices)
    if key not in inputs.indices:
        cells, ids = inputs.cells, np.array([p.id for p in inputs.projects], dtype=np.int64)
        practice_ids = cells[:, engine.PRACTICE].astype(np.int64)
        lookup = np.full(max([*key, int(practice_ids.max(initial=0))]) + 1, -1, dtype=np.int64)
        lookup[list(key)] = np.arange(len(key))
        practice = lookup[practice_ids]
        project_ids = cells[:, engine.PROJECT].astype(np.int64)
        row = np.searchsorted(ids, project_ids) if len(ids) else np.zeros(len(cells), dtype=np.int64)
        row = np.minimum(row, max(len(ids) - 1, 0))
        found = (ids[row] == project_ids) if len(ids) else np.zeros(len(cells), dtype=bool)
        keep = (practice >= 0) & found
        inputs.indices[key] = (practice, row, keep)
    return inputs.indices[key]


def _table_from_cells(structure: Structure, inputs: Inputs, labels: list[str], bucket_of: np.ndarray) -> _Table:
    cells = inputs.cells
    practice, project, keep = _indices(structure, inputs)
    width = len(structure.practices)
    flat = bucket_of[project[keep]] * width + practice[keep] if keep.any() else np.zeros(0, dtype=np.int64)
    size = len(labels) * width
    sums = {}
    for column in ADDITIVE:
        sums[column] = np.bincount(flat, weights=cells[keep, column], minlength=size).reshape(len(labels), width)
    for column in FLAGS:
        hits = np.bincount(flat, weights=(cells[keep, column] > 0).astype(float), minlength=size)
        sums[column] = (hits > 0).astype(float).reshape(len(labels), width)
    return _Table(labels, sums, np.bincount(bucket_of, minlength=len(labels)).astype(float))


def _table_from_snapshot(structure: Structure, snapshot) -> _Table:
    """The team × practice sums of the daily snapshots, added up into the one bucket ALL."""
    lookup = {p.pk: k for k, p in enumerate(structure.practices)}
    sums = {column: np.zeros((1, len(structure.practices))) for column in (*ADDITIVE, *FLAGS)}
    for (_team, practice_id), cell in snapshot.cells.items():
        k = lookup.get(practice_id)
        if k is None:
            continue
        for column, value in ((engine.WSUM, cell.weighted_sum), (engine.WTOT, cell.weight_total),
                              (engine.COVERED, cell.covered), (engine.SCORED, cell.scored),
                              (engine.VERIFIED, cell.verified), (engine.CAPPED, cell.capped)):
            sums[column][0, k] += value
        sums[engine.STALE][0, k] = max(sums[engine.STALE][0, k], float(cell.stale))
        sums[engine.ACCEPTED][0, k] = max(sums[engine.ACCEPTED][0, k], float(cell.accepted))
    projects = np.array([float(sum(t.projects for t in snapshot.totals.values()))])
    return _Table([ALL], sums, projects)


def _ratio(num: np.ndarray, den: np.ndarray) -> list[float | None]:
    return [float(n) / float(d) if d else None for n, d in zip(num, den, strict=True)]


def _aggregate(table: _Table, practices: np.ndarray, buckets: np.ndarray, weights: np.ndarray):
    """(readiness, coverage, verified, per-practice sums, projects per practice) for rows of
    `practices` (n × K booleans) over their `buckets` (n × B booleans)."""
    mask = buckets.astype(float)
    summed = {c: _matmul(mask, m) for c, m in table.sums.items()}  # n × K
    projects = _matmul(mask, table.projects[:, None])[:, 0]  # n
    wtot, wsum = summed[engine.WTOT], summed[engine.WSUM]
    scored = practices & (wtot > 0)
    score = np.divide(wsum, wtot, out=np.zeros_like(wsum), where=wtot > 0)
    num = (scored * weights * score).sum(axis=1)
    den = (scored * weights).sum(axis=1)
    covered = (practices * summed[engine.COVERED]).sum(axis=1)
    possible = practices.sum(axis=1) * projects
    verified = (practices * summed[engine.VERIFIED]).sum(axis=1)
    scored_answers = (practices * summed[engine.SCORED]).sum(axis=1)
    readiness = _ratio(num, den)
    coverage = [None if p is None else 100 * p for p in _ratio(covered, possible)]
    verified_share = [None if p is None else 100 * p for p in _ratio(verified, scored_answers)]
    return readiness, coverage, verified_share, summed, projects


def _weakest(structure: Structure, inputs: Inputs, bucket_of: np.ndarray, requirement_buckets: np.ndarray,
             listed: list[int]) -> dict[int, list[WeakProject]]:
    """requirement row → its WEAKEST projects below 100: every requirement × project readiness at once."""
    cells, projects = inputs.cells, inputs.projects
    practice, project, keep = _indices(structure, inputs)
    if not keep.any() or not listed:
        return {}
    shape = (len(projects), len(structure.practices))
    wsum, wtot = np.zeros(shape), np.zeros(shape)
    wsum[project[keep], practice[keep]] = cells[keep, engine.WSUM]
    wtot[project[keep], practice[keep]] = cells[keep, engine.WTOT]
    valid = wtot > 0
    score = np.divide(wsum, wtot, out=np.zeros_like(wsum), where=valid)
    weighted = (structure.closure[listed] * structure.weights).T  # K × n
    num, den = _matmul(score, weighted), _matmul(valid.astype(float), weighted)  # P × n
    binds = requirement_buckets[listed][:, bucket_of].T  # P × n
    gaps = binds & (den > 0) & (num < 100 * den - 1e-9)
    readiness = np.divide(num, den, out=np.full_like(num, np.inf), where=gaps)
    # The WEAKEST-th lowest value of each column, then only the rows at or below it are ordered (ties: the
    # lower id, i.e. the older project, first): no full sort of 2,000 projects per requirement.
    kth = min(WEAKEST, len(projects)) - 1
    threshold = np.partition(readiness, kth, axis=0)[kth]
    result = {}
    for column, row in enumerate(listed):
        values = readiness[:, column]
        limit = threshold[column]
        candidates = np.nonzero(values <= limit)[0] if np.isfinite(limit) else np.nonzero(np.isfinite(values))[0]
        picked = candidates[np.lexsort((candidates, values[candidates]))][:WEAKEST]
        if len(picked):
            result[row] = [WeakProject(projects[i].id, projects[i].name, projects[i].team, projects[i].team_name,
                                       float(values[i])) for i in picked]
    return result


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b without BLAS: these matrices are small, and BLAS threads fight the web workers for the cores."""
    return np.einsum("ij,jk->ik", a, b)


# --- the service ------------------------------------------------------------------------------------

def framework_readiness(framework: Framework, scope: ReadinessScope, *, as_of: dt.date | None = None,
                        inputs: Inputs | None = None, structure: Structure | None = None,
                        with_weakest: bool = True) -> FrameworkReadiness:
    """Readiness of every requirement of `framework` for `scope` as of a day (None: now)."""
    structure = structure or load_structures([framework])[framework.pk]
    inputs = inputs or gather(scope, as_of=as_of)
    gated = framework.gated
    if gated:
        labels = sorted({p.combo for p in inputs.projects})
        index = {label: b for b, label in enumerate(labels)}
        bucket_of = np.array([index[p.combo] for p in inputs.projects], dtype=int)
        requirement_buckets = np.zeros((len(structure.requirements), len(labels)), dtype=bool)
        for row, requirement in enumerate(structure.requirements):
            for label in structure.binds[requirement.pk]:
                if label in index:
                    requirement_buckets[row, index[label]] = True
    else:
        labels, bucket_of = [ALL], np.zeros(len(inputs.projects), dtype=int)
        requirement_buckets = np.ones((len(structure.requirements), 1), dtype=bool)
    source = "live" if inputs.live else "history"
    if inputs.snapshot is not None and not gated:
        table, source = _table_from_snapshot(structure, inputs.snapshot), "snapshot"
    else:
        table = _table_from_cells(structure, inputs, labels, bucket_of)
    readiness, coverage, verified, summed, projects = _aggregate(
        table, structure.closure, requirement_buckets, structure.weights)
    listed = [i for i, _r in enumerate(structure.requirements) if not gated or projects[i] > 0]
    weakest = _weakest(structure, inputs, bucket_of, requirement_buckets, listed) if with_weakest else {}
    refs = {r.pk: r.ref for r in structure.requirements}
    rows = []
    for i in listed:
        requirement = structure.requirements[i]
        figures = [_figure(structure.practices[k], summed, i, k, projects[i])
                   for k in np.nonzero(structure.closure[i])[0]]
        rows.append(RequirementReadiness(
            requirement=requirement, parent=refs.get(requirement.parent_id), readiness=readiness[i],
            coverage=coverage[i], verified=verified[i], practices=figures, mapped=structure.direct[requirement.pk],
            projects=int(projects[i]), weakest=weakest.get(i, [])))
    # The framework as a whole: every practice of a listed requirement, over every bucket it is bound in.
    practices_used = structure.closure[listed].any(axis=0) if listed else np.zeros(len(structure.practices), bool)
    union = (_matmul(structure.closure[listed].T.astype(float), requirement_buckets[listed].astype(float)) > 0
             if listed else np.zeros((len(structure.practices), len(labels)), bool))
    total = _aggregate(table, np.diag(practices_used), union, structure.weights)
    overall = _combine_rows(total, practices_used, structure.weights)
    unclassified = int(table.projects[labels.index(UNCLASSIFIED)]) if gated and UNCLASSIFIED in labels else 0
    return FrameworkReadiness(
        framework=framework, scope=scope, as_of=inputs.as_of, moment=inputs.moment, source=source,
        readiness=overall[0], coverage=overall[1], verified=overall[2], projects=int(table.projects.sum()) - unclassified,
        requirements=rows, unclassified_projects=unclassified)


def _figure(practice: Practice, summed: dict, row: int, k: int, projects: float) -> PracticeScore:
    wtot = summed[engine.WTOT][row, k]
    scored = summed[engine.SCORED][row, k]
    return PracticeScore(
        practice=practice, score=float(summed[engine.WSUM][row, k] / wtot) if wtot else None,
        coverage=percent(int(summed[engine.COVERED][row, k]), int(projects)),
        verified=percent(int(summed[engine.VERIFIED][row, k]), int(scored)),
        accepted=bool(summed[engine.ACCEPTED][row, k]), stale=bool(summed[engine.STALE][row, k]),
        capped=int(summed[engine.CAPPED][row, k]), scored=int(scored))


def _combine_rows(total, practices_used: np.ndarray, weights: np.ndarray):
    """Framework figures from the per-practice rows of `_aggregate` (row k holds practice k alone)."""
    _readiness, _coverage, _verified, summed, projects = total
    k = np.nonzero(practices_used)[0]
    wsum, wtot = summed[engine.WSUM][k, k], summed[engine.WTOT][k, k]
    scored = wtot > 0
    den = float((weights[k] * scored).sum())
    num = float((weights[k] * np.divide(wsum, wtot, out=np.zeros_like(wsum), where=scored)).sum())
    covered, possible = float(summed[engine.COVERED][k, k].sum()), float(projects[k].sum())
    verified, answers = float(summed[engine.VERIFIED][k, k].sum()), float(summed[engine.SCORED][k, k].sum())
    return (num / den if den else None, 100 * covered / possible if possible else None,
            100 * verified / answers if answers else None)
