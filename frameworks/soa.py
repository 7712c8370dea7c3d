"""The Statement of Applicability: every ISO/IEC 42001 Annex A control for a scope, as it stood at a moment.

Per control: applicable or not, and why; its implementation status (from its readiness); who owns it
(the owners recorded on the answers of its practices); the evidence behind it (links, bundle paths and
SHA-256 hashes); the risks accepted on its practices. The rules are in docs/frameworks.md:

- a control no practice maps to is applicable, status "not covered by the catalogue";
- a control is NOT applicable only when every answer of the approved assessments in scope to its
  practices is "not applicable"; the justification is those answers' own justifications;
- otherwise it is applicable; with no approved answer yet its status is "not assessed", else the
  readiness decides: 75 or more implemented, above 0 partially implemented, 0 not implemented.

Queries: the readiness of the framework (frameworks.readiness), then answers, evidence and risk
acceptances of the scope's projects (three), whatever the number of projects and controls.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import NamedTuple

from django.db.models import Q

from assessments.choices import AcceptanceStatus, AssessmentStatus
from assessments.models import Answer, Assessment, RiskAcceptance
from evidence.models import Evidence, EvidenceKind, EvidenceStatus

from .choices import IMPLEMENTED_FROM, SOA_FRAMEWORK, SOA_ROOT, ImplementationStatus
from .models import Framework
from .readiness import Structure, framework_readiness, gather, load_structures
from .scope import ReadinessScope


def implementation_status(readiness: float | None) -> str:
    if readiness is None:
        return ImplementationStatus.NOT_ASSESSED
    if readiness >= IMPLEMENTED_FROM:
        return ImplementationStatus.IMPLEMENTED
    return ImplementationStatus.PARTIAL if readiness > 0 else ImplementationStatus.NOT_IMPLEMENTED


def _annex_controls(structure: Structure) -> list:
    """The controls of Annex A: the requirements under it that have no requirements of their own."""
    by_id = {r.pk: r for r in structure.requirements}
    parents = {r.parent_id for r in structure.requirements}

    def under_annex(requirement) -> bool:
        while requirement.parent_id is not None:
            requirement = by_id[requirement.parent_id]
        return requirement.ref == SOA_ROOT

    return [r for r in structure.requirements if r.pk not in parents and under_annex(r)]


def _objective(structure: Structure, requirement) -> tuple[str, str]:
    by_id = {r.pk: r for r in structure.requirements}
    node = requirement
    while node.parent_id is not None and by_id[node.parent_id].ref != SOA_ROOT:
        node = by_id[node.parent_id]
    return node.ref, node.title


class _Given(NamedTuple):
    """What the SoA needs of one approved answer."""

    code: str
    not_applicable: bool
    owner: str
    justification: str
    project_id: int
    project_name: str


def _evidence_row(item: Evidence, moment: dt.datetime, base_url: str) -> dict:
    from reports.bundle import evidence_member_path  # a pure helper; reports does not import this module

    reviewed = item.reviewed_at is not None and item.reviewed_at <= moment
    status = item.status if (item.kind == EvidenceKind.CHECK or reviewed) else EvidenceStatus.PENDING
    path = evidence_member_path(item.pk, item.original_name) if item.kind == EvidenceKind.FILE and item.storage_name else None
    link = item.url or (f"{base_url.rstrip('/')}/evidence/{item.pk}/" if base_url else f"/evidence/{item.pk}/")
    return {"id": item.pk, "project": item.project.name, "project_id": item.project_id, "practice": item.practice.code,
            "kind": item.kind, "title": item.title, "url": link, "file": path, "sha256": item.sha256,
            "status": status, "valid_until": item.valid_until.isoformat() if item.valid_until else None}


def statement_of_applicability(scope: ReadinessScope, *, as_of: dt.date | None = None, base_url: str = "",
                               moment: dt.datetime | None = None) -> dict:
    """The Statement of Applicability of ISO/IEC 42001 Annex A for `scope` as of a day (None: now, or `moment`)."""
    framework = Framework.objects.get(key=SOA_FRAMEWORK)
    structure = load_structures([framework])[framework.pk]
    inputs = gather(scope, as_of=as_of, snapshots=False, moment=moment)
    readiness = {r.requirement.pk: r for r in framework_readiness(
        framework, scope, inputs=inputs, structure=structure, with_weakest=False).requirements}
    moment = inputs.moment
    project_ids = [p.id for p in inputs.projects]
    controls = _annex_controls(structure)
    codes = {p.code for r in controls for p in readiness[r.pk].practices}

    current = Assessment.objects.filter(project_id__in=project_ids, status=AssessmentStatus.APPROVED,
                                        reviewed_at__lte=moment).filter(
        Q(superseded_at__isnull=True) | Q(superseded_at__gt=moment))
    # Plain tuples, not three model instances per answer: 50,000 answers at 2,000 projects took 400 MB.
    answers: dict[str, list[_Given]] = defaultdict(list)
    for row in (Answer.objects.filter(assessment__in=current, practice__code__in=codes)
                .filter(Q(level__isnull=False) | Q(not_applicable=True)).order_by("assessment__project__name")
                .values_list("practice__code", "not_applicable", "owner", "justification", "assessment__project_id",
                             "assessment__project__name").iterator(chunk_size=2000)):
        answers[row[0]].append(_Given(*row))
    evidence: dict[str, list[dict]] = defaultdict(list)
    for item in (Evidence.objects.filter(project_id__in=project_ids, practice__code__in=codes).as_of(moment)
                 .select_related("practice", "project").order_by("project__name", "created_at").iterator(chunk_size=2000)):
        row = _evidence_row(item, moment, base_url)
        if row["status"] != EvidenceStatus.REJECTED:
            evidence[row["practice"]].append(row)
    accepted: dict[str, list[dict]] = defaultdict(list)
    for item in (RiskAcceptance.objects.filter(project_id__in=project_ids, practice__code__in=codes,
                                               status=AcceptanceStatus.APPROVED, decided_at__lte=moment,
                                               expires_on__gte=moment.date())
                 .select_related("practice", "project").order_by("project__name")):
        accepted[item.practice.code].append({"project": item.project.name, "practice": item.practice.code,
                                             "expires_on": item.expires_on.isoformat(),
                                             "justification": item.justification})

    rows = [_control(structure, requirement, readiness[requirement.pk], answers, evidence, accepted)
            for requirement in controls]
    return {
        "framework": framework.key, "framework_title": framework.title, "version": framework.version,
        "title": f"Statement of Applicability, {framework.short_title}:{framework.version} Annex A",
        "scope": {"kind": scope.kind, "label": scope.label}, "as_of": inputs.as_of.isoformat(),
        "moment": moment.isoformat(), "projects": len(project_ids),
        "summary": {status: sum(r["status"] == status for r in rows) for status in ImplementationStatus.values},
        "controls": rows,
    }


def _control(structure, requirement, figures, answers, evidence, accepted) -> dict:
    codes = [p.code for p in figures.practices]
    objective_ref, objective = _objective(structure, requirement)
    row = {"ref": requirement.ref, "title": requirement.title, "objective_ref": objective_ref, "objective": objective,
           "practices": codes, "readiness": figures.readiness, "coverage": figures.coverage,
           "verified": figures.verified, "owners": [], "evidence": [], "accepted_risks": []}
    if not codes:
        return {**row, "applicable": True, "status": ImplementationStatus.NOT_COVERED,
                "justification": "No practice of the catalogue covers this control: assess and evidence it outside "
                                 "the portal."}
    given = [a for code in codes for a in answers.get(code, ())]
    not_applicable = [a for a in given if a.not_applicable]
    owners: dict[str, list[str]] = {}
    for answer in given:
        if answer.owner.strip():
            owners.setdefault(answer.owner.strip(), []).append(answer.code)
    row["owners"] = [f"{name} ({', '.join(sorted(set(c)))})" for name, c in sorted(owners.items())]
    row["evidence"] = [e for code in codes for e in evidence.get(code, ())]
    row["accepted_risks"] = [a for code in codes for a in accepted.get(code, ())]
    reasons = [f"{a.project_name}, {a.code}: {a.justification.strip() or 'no justification'}"
               for a in not_applicable]
    if given and len(not_applicable) == len(given):
        return {**row, "applicable": False, "status": ImplementationStatus.NOT_APPLICABLE,
                "justification": "Every approved answer in scope to its practices is not applicable: " + "; ".join(reasons)}
    if not given:
        return {**row, "applicable": True, "status": ImplementationStatus.NOT_ASSESSED,
                "justification": "Applies by default: no approved assessment answers its practices yet."}
    projects = len({a.project_id for a in given})
    text = f"Its practices ({', '.join(codes)}) are assessed on {projects} project{'s' if projects != 1 else ''}."
    if reasons:
        text += " Not applicable in part: " + "; ".join(reasons)
    return {**row, "applicable": True, "status": implementation_status(figures.readiness), "justification": text}


def soa_for_export(*, kind: str, teams: list, project=None, as_of: dt.date | None, moment: dt.datetime,
                   base_url: str = "") -> dict:
    """The SoA for an export's scope (reports.dataset.Scope: kind org, team or project)."""
    scope = ReadinessScope({"org": "organisation"}.get(kind, kind), teams=list(teams), project=project)
    return statement_of_applicability(scope, as_of=as_of, base_url=base_url, moment=moment)
