"""The export dataset: everything an auditor takes away, as it stood at one moment.

`build_dataset()` returns the dict the renderers consume (`reports/renderers`): a header with the
scorecard for the scope, and `projects` as a generator that reads the database in chunks of 200
projects with a fixed number of queries per chunk, so the CSV and JSON exports stream in constant
memory whatever the size of the organisation.

"As it stood at `moment`": the approved assessment that counted then, evidence stored by then (and
its review only if made by then), the latest check run of each check finished by then, risk
acceptances proposed by then (with the decision only if taken by then), projects that existed then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Team
from assessments.choices import AcceptanceStatus, AssessmentStatus
from assessments.models import Answer, Assessment, Project, RiskAcceptance
from checks.models import CheckDefinition, CheckRun
from controls.models import CatalogRelease, Practice
from evidence.models import Evidence, EvidenceKind, EvidenceStatus
from frameworks.soa import soa_for_export
from scoring.engine import score_inputs
from scoring.services import assemble, end_of_day

from .bundle import evidence_member_path

CHUNK = 200


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def moment_for(as_of: dt.date | None) -> tuple[dt.date, dt.datetime]:
    today = timezone.localdate()
    if as_of is None or as_of >= today:
        return today, timezone.now()
    return as_of, end_of_day(as_of)


class EvidenceFiles(Mapping):
    """`path in bundle → loader of the decrypted pieces`, filled while the projects are generated (for `build_bundle`)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def add(self, path: str, evidence_id: int) -> None:
        self._ids[path] = evidence_id

    def __getitem__(self, path: str):
        evidence_id = self._ids[path]

        def load() -> Iterator[bytes]:
            from django.core.exceptions import ValidationError

            from evidence.services import evidence_chunks

            item = Evidence.objects.get(pk=evidence_id)
            try:
                yield from evidence_chunks(item)
            except ValidationError as exc:  # say which file, so the failed export names it
                raise ValidationError(f"Evidence #{item.pk} “{item.title}”: {' '.join(exc.messages)}") from exc

        return load

    def __iter__(self):
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


@dataclass
class Scope:
    kind: str  # org | team | project
    team: Team | None = None
    project: Project | None = None
    teams: list[Team] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.kind == "project":
            return f"{self.project.name} ({self.project.team.name})"
        return self.team.name if self.kind == "team" else "Organisation"


def _practice_row(ps) -> dict:
    p = ps.practice
    return {"code": p.code, "title": p.title, "category": p.category, "weight": p.weight, "score": _round(ps.score),
            "coverage": _round(ps.coverage), "verified": _round(ps.verified), "stale": ps.stale,
            "accepted": ps.accepted, "capped": ps.capped}


def build_dataset(*, scope: Scope, as_of: dt.date | None, generated_by: str, base_url: str = "",
                  fingerprint: str = "", files: EvidenceFiles | None = None) -> dict:
    as_of, moment = moment_for(as_of)
    practices = list(Practice.objects.active().order_by("number"))
    inputs = score_inputs(moment=moment, team_ids=[t.pk for t in scope.teams])
    card = assemble(inputs, scope.teams, practices, as_of=as_of, moment=moment, source="history")
    projects = Project.objects.filter(team__in=scope.teams, created_at__lte=moment).filter(
        Q(archived_at__isnull=True) | Q(archived_at__gt=moment)).select_related("team").order_by("team__name", "name")
    if scope.kind == "project":
        projects = projects.filter(pk=scope.project.pk)
    summary = {"score": _round(card.score), "coverage": _round(card.coverage), "verified": _round(card.verified),
               "projects": sum(t.projects for t in card.teams), "covered_projects": sum(t.covered_projects for t in card.teams)}
    title = f"ML security posture — {scope.label}"
    return {
        "title": title,
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "generated_by": generated_by,
        "as_of": as_of.isoformat(),
        "moment": moment.isoformat(),
        "scope": {"kind": scope.kind, "label": scope.label, "team": scope.team.slug if scope.team else None,
                  "project": scope.project.pk if scope.project else None},
        "catalog_version": CatalogRelease.current_version(),
        "portal": {"name": "MLSec Portal", "base_url": base_url, "public_key_fingerprint": fingerprint},
        "summary": summary,
        "practices": [_practice_row(p) for p in card.practices],
        "teams": [{"slug": t.team.slug, "name": t.team.name, "score": _round(t.score), "coverage": _round(t.coverage),
                   "verified": _round(t.verified), "projects": t.projects, "covered_projects": t.covered_projects,
                   "practices": [_practice_row(p) for p in t.practices]} for t in card.teams],
        "statement_of_applicability": soa_for_export(kind=scope.kind, teams=scope.teams, project=scope.project,
                                                     as_of=None if as_of >= timezone.localdate() else as_of,
                                                     moment=moment, base_url=base_url),
                "projects": _projects(projects, practices, moment, files, base_url.rstrip("/")),
    }


def _projects(queryset, practices: list[Practice], moment: dt.datetime, files: EvidenceFiles | None,
              base_url: str = "") -> Iterator[dict]:
    coverage = {d.key: [p.code for p in d.practices.all()] for d in CheckDefinition.objects.prefetch_related("practices")}
    titles = dict(CheckDefinition.objects.values_list("key", "title"))
    ids = list(queryset.values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        chunk = list(queryset.filter(pk__in=ids[start:start + CHUNK]))
        yield from _chunk(chunk, practices, moment, files, coverage, titles, base_url)


def _chunk(projects, practices, moment, files, coverage, titles, base_url="") -> Iterator[dict]:
    """A fixed number of queries for up to 200 projects, whatever their size (tests/test_query_counts.py)."""
    ids = [p.pk for p in projects]
    weights = {p.pk: p.weight for p in practices}
    assessments = {a.project_id: a for a in Assessment.objects.filter(
        project_id__in=ids, status=AssessmentStatus.APPROVED, reviewed_at__lte=moment).filter(
        Q(superseded_at__isnull=True) | Q(superseded_at__gt=moment)).select_related("submitted_by", "reviewed_by")}
    # Awaiting review then: submitted by the moment and not yet decided at it (the latest such cycle).
    awaiting: dict[int, Assessment] = {}
    for item in (Assessment.objects.filter(project_id__in=ids, submitted_at__lte=moment)
                 .filter(Q(status=AssessmentStatus.SUBMITTED) | Q(reviewed_at__gt=moment))
                 .select_related("submitted_by").order_by("submitted_at")):
        awaiting[item.project_id] = item
    answers: dict[int, dict[int, Answer]] = {}
    for answer in Answer.objects.filter(assessment_id__in=[a.pk for a in assessments.values()]):
        answers.setdefault(answer.assessment_id, {})[answer.practice_id] = answer
    cells = score_inputs(moment=moment, group_by="project", project_ids=ids).cells
    evidence: dict[int, list[Evidence]] = {}
    for item in (Evidence.objects.filter(project_id__in=ids).as_of(moment)
                 .select_related("practice", "uploaded_by", "reviewed_by", "check_run")
                 .order_by("practice__number", "created_at")):
        evidence.setdefault(item.project_id, []).append(item)
    for project_id, item in _linked_evidence(ids, moment):
        evidence.setdefault(project_id, []).append(item)
    newer = CheckRun.objects.filter(project_id=OuterRef("project_id"), definition_id=OuterRef("definition_id"),
                                    finished_at__lte=moment, finished_at__gt=OuterRef("finished_at"))
    runs: dict[int, list[CheckRun]] = {}
    for run in (CheckRun.objects.filter(project_id__in=ids, finished_at__lte=moment).exclude(Exists(newer))
                .order_by("definition_id")):
        runs.setdefault(run.project_id, []).append(run)
    actions = _open_actions(ids, moment)
    inventories = _inventories(ids, moment)
    acceptances: dict[int, list[RiskAcceptance]] = {}
    for item in (RiskAcceptance.objects.filter(project_id__in=ids, proposed_at__lte=moment)
                 .select_related("practice", "proposed_by", "approved_by").order_by("proposed_at")):
        acceptances.setdefault(item.project_id, []).append(item)

    for project in projects:
        assessment = assessments.get(project.pk)
        by_practice = answers.get(assessment.pk, {}) if assessment else {}
        pending = awaiting.get(project.pk)
        if pending is not None and assessment is not None and pending.submitted_at <= (assessment.reviewed_at or moment):
            pending = None  # submitted before the approval that counts: not what awaits review
        project_evidence = evidence.get(project.pk, [])
        counts: dict[int, int] = {}
        for item in project_evidence:
            if _status_then(item, moment) != EvidenceStatus.REJECTED:
                counts[item.practice_id] = counts.get(item.practice_id, 0) + 1
        rows, num, den = [], 0.0, 0.0
        project_actions = actions.get(project.pk, [])
        first_action = {}
        for item in project_actions:  # soonest due first: the one a row shows
            first_action.setdefault(item["practice"], item)
        for practice in practices:
            cell = cells.get((project.pk, practice.pk))
            answer = by_practice.get(practice.pk)
            score = cell.score if cell else None
            if score is not None:
                num, den = num + score * weights[practice.pk], den + weights[practice.pk]
            rows.append({
                "code": practice.code, "title": practice.title,
                "level": answer.level if answer else None, "not_applicable": bool(answer and answer.not_applicable),
                "justification": answer.justification if answer else "", "notes": answer.notes if answer else "",
                "owner": answer.owner if answer else "", "target_level": answer.target_level if answer else None,
                "due_date": _iso(answer.due_date) if answer else None, "score": _round(score),
                "effective_level": int(score // 25) if score is not None else None,
                "capped": bool(cell and cell.capped), "stale": bool(cell and cell.stale),
                "accepted": bool(cell and cell.accepted), "verified": bool(cell and cell.verified),
                "evidence_count": counts.get(practice.pk, 0),
                # No approved answer, but a submitted assessment awaits review: "submitted", not "not assessed".
                "submitted": answer is None and assessment is None and pending is not None,
                "action": first_action.get(practice.code),
            })
        yield {
            "id": project.pk, "name": project.name, "slug": project.slug, "team": project.team.slug,
            "url": f"{base_url}/projects/{project.pk}/" if base_url else None,
            "team_name": project.team.name, "risk_tier": project.risk_tier, "lifecycle": project.lifecycle,
            "data_classification": project.data_classification, "score": _round(num / den) if den else None,
            "assessment": _assessment(assessment),
            "awaiting_review": None if pending is None else {
                "id": pending.pk, "cycle": pending.cycle, "submitted_at": _iso(pending.submitted_at),
                "submitted_by": pending.submitted_by.username if pending.submitted_by else None},
            "answers": rows,
            "evidence": [_evidence(item, moment, files) for item in project_evidence],
            "check_runs": [{"id": r.pk, "check": r.definition_id, "title": titles.get(r.definition_id, r.definition_id),
                            "status": r.status, "started_at": _iso(r.started_at), "finished_at": _iso(r.finished_at),
                            "summary": r.summary, "findings": r.findings, "practices": coverage.get(r.definition_id, []),
                            "packages": _packages(r)}
                           for r in runs.get(project.pk, [])],
            "risk_acceptances": [_acceptance(item, moment) for item in acceptances.get(project.pk, [])],
            "actions": project_actions,
            "inventory": {"description": project.description, "ai_act_role": project.ai_act_role,
                          "ai_act_risk_class": project.ai_act_risk_class, **inventories.get(project.pk, {})},
        }


def _linked_evidence(project_ids: list[int], moment: dt.datetime):
    """(project id, evidence) for the shared documents linked to the projects at `moment`, each under the
    practice of its link (docs/evidence.md); one query."""
    import copy

    from evidence.models import EvidenceLink

    links = (EvidenceLink.objects.filter(project_id__in=project_ids, linked_at__lte=moment,
                                         evidence__created_at__lte=moment)
             .filter(Q(unlinked_at__isnull=True) | Q(unlinked_at__gt=moment))
             .filter(Q(evidence__superseded_at__isnull=True) | Q(evidence__superseded_at__gt=moment))
             .select_related("practice", "evidence__uploaded_by", "evidence__reviewed_by", "evidence__check_run")
             .order_by("practice__number", "evidence__created_at", "pk"))
    for link in links:
        item = copy.copy(link.evidence)
        item.practice, item.practice_id = link.practice, link.practice_id
        yield link.project_id, item
def _packages(run: CheckRun) -> list[dict]:
    """The pinned packages the dependency check found affected (the only ones its run records by name)."""
    if run.definition_id != "dependency-vulnerabilities":
        return []
    return [{"package": str(v["package"]), "version": str(v["version"]), "id": str(v["id"])}
            for v in (run.data or {}).get("vulnerabilities") or () if isinstance(v, dict) and v.get("package")]


def _inventories(project_ids: list[int], moment: dt.datetime) -> dict[int, dict]:
    """The models and datasets (each at its newest version by `moment`) and serving endpoints: three queries."""
    from sources.choices import SourceKind
    from sources.models import Asset, AssetVersion, Source

    sources = {s.pk: s for s in Source.objects.filter(project_id__in=project_ids, created_at__lte=moment)}
    newest: dict[int, AssetVersion] = {}
    for version in (AssetVersion.objects.filter(asset__project_id__in=project_ids, created_at__lte=moment)
                    .order_by("asset_id", "-created_at", "-pk")):
        newest.setdefault(version.asset_id, version)
    result: dict[int, dict] = {}
    for asset in (Asset.objects.filter(pk__in=list(newest)).order_by("kind", "name", "pk")):
        version, source = newest[asset.pk], sources.get(asset.source_id)
        result.setdefault(asset.project_id, {"assets": [], "services": []})["assets"].append({
            "id": asset.pk, "kind": asset.kind, "name": asset.name,
            "source": _source(source) if source else None,
            "version": {"version": version.version, "revision": version.revision, "sha256": version.sha256,
                        "size": version.size, "format": version.format, "stage": version.stage,
                        "verdicts": version.verdicts, "created_at": _iso(version.created_at)}})
    for source in sources.values():
        if source.kind == SourceKind.ENDPOINT:
            result.setdefault(source.project_id, {"assets": [], "services": []})["services"].append(_source(source))
    return result


def _source(source) -> dict:
    """A source's kind, name and location fields (its credential never leaves `sources`)."""
    return {"id": source.pk, "kind": source.kind, "name": source.name, "config": dict(source.config or {})}


def _open_actions(project_ids: list[int], moment: dt.datetime) -> dict[int, list[dict]]:
    """The remediation actions open at `moment` (opened by then, not closed by then), soonest due first.

    Owner and due date are today's: actions keep their history in the audit trail, not in columns.
    """
    from actions.choices import ActionStatus
    from actions.models import Action

    day = moment.date()
    result: dict[int, list[dict]] = {}
    for action in (Action.objects.filter(project_id__in=project_ids, opened_at__lte=moment)
                   .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=moment))
                   .select_related("practice", "owner").order_by("due_on", "pk")):
        status = action.status if action.closed_at is None else ActionStatus.OPEN
        result.setdefault(action.project_id, []).append({
            "id": action.pk, "practice": action.practice.code, "title": action.title, "source": action.source,
            "status": status, "owner": action.owner.username if action.owner else None,
            "due_on": _iso(action.due_on), "overdue": action.due_on < day,
            "opened_at": _iso(action.opened_at)})
    return result


def _assessment(assessment: Assessment | None) -> dict | None:
    if assessment is None:
        return None
    return {"id": assessment.pk, "cycle": assessment.cycle, "status": assessment.status,
            "catalog_version": assessment.catalog_version,
            "submitted_by": assessment.submitted_by.username if assessment.submitted_by else None,
            "submitted_at": _iso(assessment.submitted_at),
            "reviewed_by": assessment.reviewed_by.username if assessment.reviewed_by else None,
            "reviewed_at": _iso(assessment.reviewed_at), "review_comment": assessment.review_comment}


def _status_then(item: Evidence, moment: dt.datetime) -> str:
    """A review made after the moment had not happened yet: the evidence was still pending."""
    if item.kind == EvidenceKind.CHECK or (item.reviewed_at is not None and item.reviewed_at <= moment):
        return item.status
    return EvidenceStatus.PENDING


def _evidence(item: Evidence, moment: dt.datetime, files: EvidenceFiles | None) -> dict:
    path = None
    if item.kind == EvidenceKind.FILE and item.storage_name:
        path = evidence_member_path(item.pk, item.download_name)
        if files is not None:
            files.add(path, item.pk)
    reviewed = item.reviewed_at is not None and item.reviewed_at <= moment
    return {"id": item.pk, "practice": item.practice.code, "kind": item.kind, "title": item.title, "url": item.url,
            "text": item.text, "sha256": item.sha256, "size": item.size, "content_type": item.content_type,
            "original_name": item.original_name, "version": item.version, "status": _status_then(item, moment),
            "valid_until": _iso(item.valid_until), "created_at": _iso(item.created_at),
            "uploaded_by": item.uploaded_by.username if item.uploaded_by else None,
            "reviewed_by": item.reviewed_by.username if item.reviewed_by and reviewed else None,
            "reviewed_at": _iso(item.reviewed_at) if reviewed else None, "check_run": item.check_run_id,
            "check_status": item.check_run.status if item.check_run_id else None, "file": path,
            "shared": item.project_id is None, "effective_on": _iso(item.effective_on),
            "observed_from": _iso(item.observed_from), "observed_until": _iso(item.observed_until)}


def _acceptance(item: RiskAcceptance, moment: dt.datetime) -> dict:
    decided = item.decided_at is not None and item.decided_at <= moment
    return {"id": item.pk, "practice": item.practice.code, "justification": item.justification,
            "expires_on": _iso(item.expires_on), "status": item.status if decided else AcceptanceStatus.PROPOSED,
            "proposed_by": item.proposed_by.username,
            "approved_by": item.approved_by.username if item.approved_by and decided else None,
            "decided_at": _iso(item.decided_at) if decided else None}
