"""OSCAL plan of action and milestones (OSCAL 1.1.x JSON): the open gaps of a scope, deterministic.

How the portal maps onto the POA&M model:
- every project is a component of `local-definitions` (there is no SSP to import; `system-id` names
  the export's scope), every automated check a software component acting as the `tool` of its runs;
- an answer below its target level (after any check cap) is a POA&M item: an EXAMINE observation of
  the self-assessment (evidence in `relevant-evidence`, SHA-256 as a hash property), a risk whose
  deadline is the answer's due date and whose remediation has a milestone on that date, the answer's
  owner as a party with the role `poam-item-owner`;
- the latest run of a check that failed is a POA&M item: a TEST observation of the run and one
  observation per finding it reported (the open findings), and a risk;
- a risk acceptance in force is the risk's deviation: status `deviation-approved`, a risk-log entry
  for the approval (who, when, until when), the deadline its expiry; a proposed one is
  `deviation-requested`. An acceptance on a practice with no other gap gets an item of its own.
  Rejected and expired acceptances are closed: a plan of action lists what is still open.
- a scope with nothing open gets one item saying so (OSCAL requires at least one).

UUIDs are version-5 over the scope, the as_of day and the object's ids, like the assessment results.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import BinaryIO, TextIO
from urllib.parse import quote

from .common import one_line
from .oscal import OSCAL_VERSION, _Document, _dt, _t, write_streamed

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:mlsec-portal:oscal-poam")
_LIFECYCLE_STATE = {"production": "operational", "staging": "under-development", "development": "under-development",
                    "research": "under-development", "retired": "disposition"}
ROLES = (("prepared-by", "Prepared by"), ("poam-item-owner", "POA&M item owner"), ("risk-approver", "Risk approver"),
         ("self-assessor", "Self-assessor"))


class _Poam(_Document):
    namespace = _NAMESPACE

    def __init__(self, dataset: dict, serialised: bool = False):
        super().__init__(dataset, serialised)
        self.as_of = str(dataset.get("as_of") or "")
        self.observations: list[dict] = self.collection()
        self.risks: list[dict] = self.collection()
        self.items: list[dict] = self.collection()

    # --- helpers ---------------------------------------------------------------------------------
    def party(self, name: str | None) -> str | None:
        return super().party(one_line(name))  # names flattened to one line first, as the POA&M always did

    def add(self, collection: list, record: dict) -> str:
        collection.append({k: v for k, v in record.items() if v not in (None, [], "")})
        return record["uuid"]

    # --- building blocks ---------------------------------------------------------------------------
    def evidence_ref(self, item: dict) -> dict:
        href = quote(item["file"], safe="/-._~") if item.get("file") else one_line(item.get("url")) or None
        ref = {"href": href or f"#evidence-{item.get('id')}", "description": _t(item.get("title")) or "Evidence",
               "props": self.props(evidence_id=item.get("id"), sha256=item.get("sha256"), kind=item.get("kind"),
                                   status=item.get("status"), valid_until=item.get("valid_until"))}
        return {k: v for k, v in ref.items() if v}

    def deviation(self, project: dict, acceptance: dict, risk: dict) -> None:
        """Turn `risk` into the deviation an accepted (or proposed) risk acceptance stands for."""
        approved = acceptance.get("status") == "approved"
        risk["status"] = "deviation-approved" if approved else "deviation-requested"
        risk["deadline"] = _dt(f"{acceptance.get('expires_on')}T23:59:59+00:00", self.moment)
        entry = {"uuid": self.uuid("risk-log", acceptance.get("id")),
                 "title": _t(f"Risk acceptance {acceptance.get('id')} {'approved' if approved else 'proposed'}"),
                 "description": _t(acceptance.get("justification")) or "No justification recorded.",
                 "start": _dt(acceptance.get("decided_at"), self.moment), "status-change": risk["status"],
                 "props": self.props(acceptance_id=acceptance.get("id"), practice=acceptance.get("practice"),
                                     proposed_by=acceptance.get("proposed_by"), approved_by=acceptance.get("approved_by"),
                                     expires_on=acceptance.get("expires_on"))}
        approver = self.party(acceptance.get("approved_by") or acceptance.get("proposed_by"))
        if approver:
            entry["logged-by"] = [{"party-uuid": approver, "role-id": "risk-approver"}]
        risk.setdefault("risk-log", {"entries": []})["entries"].append({k: v for k, v in entry.items() if v})

    def gap_item(self, project: dict, answer: dict, subject: list, evidence: list, acceptances: list) -> None:
        pid, code = project.get("id"), answer.get("code")
        level, target, due, owner = (answer.get("effective_level"), answer.get("target_level"), answer.get("due_date"),
                                     one_line(answer.get("owner")))
        name = f"{project.get('name')}: {code} {answer.get('title')}"
        text = f"Self-assessed at level {answer.get('level')} of 4"
        if answer.get("capped"):
            text += f", held at level {level} by a failing automated check"
        observation = self.add(self.observations, {
            "uuid": self.uuid("observation", pid, code), "title": _t(name),
            "description": f"{text}; the target is level {target}.", "methods": ["EXAMINE"], "types": ["finding"],
            "props": self.props(practice=code, level=answer.get("level"), effective_level=level, target_level=target,
                                owner=owner, due_date=due),
            "origins": self.origin((project.get("assessment") or {}).get("submitted_by"), "self-assessor"),
            "subjects": subject, "relevant-evidence": [self.evidence_ref(e) for e in evidence],
            "collected": self.moment})
        risk = {"uuid": self.uuid("risk", pid, code), "title": _t(f"{name} below its target level"),
                "description": f"Practice {_t(code)} is at level {level} on this project; the target is level {target}.",
                "statement": "Until the practice reaches its target the project carries the risks the practice "
                             "mitigates (see the catalogue).",
                "status": "open", "props": self.props(practice=code, owner=owner or "unassigned"),
                "related-observations": [{"observation-uuid": observation}]}
        if due:
            risk["deadline"] = _dt(f"{due}T23:59:59+00:00", self.moment)
            risk["remediations"] = [{
                "uuid": self.uuid("remediation", pid, code), "lifecycle": "planned",
                "title": _t(f"Raise {code} to level {target}"),
                "description": f"Owner: {_t(owner) or 'unassigned'}; due {due}.",
                "origins": self.origin(owner, "poam-item-owner"),
                "tasks": [{"uuid": self.uuid("milestone", pid, code), "type": "milestone",
                           "title": _t(f"{code} at level {target}"),
                           "description": f"Level {target} approved in an assessment by {due}.",
                           "timing": {"on-date": {"date": _dt(f"{due}T23:59:59+00:00", self.moment)}}}]}]
            risk["remediations"] = [{k: v for k, v in r.items() if v} for r in risk["remediations"]]
        for acceptance in acceptances:
            self.deviation(project, acceptance, risk)
        self.add(self.risks, risk)
        self.add(self.items, {
            "uuid": self.uuid("poam-item", pid, code), "title": _t(f"{name}: raise from level {level} to {target}"),
            "description": f"{_t(text)}; target level {target}, due {due or 'not set'}, owner {_t(owner) or 'not set'}.",
            "props": self.props(practice=code, project_id=pid, gap="below-target", owner=owner or "unassigned",
                                due_date=due or "not set"),
            "origins": self.origin(owner, "poam-item-owner"),
            "related-observations": [{"observation-uuid": observation}], "related-risks": [{"risk-uuid": risk["uuid"]}]})

    def check_item(self, project: dict, run: dict, subject: list) -> None:
        pid, rid = project.get("id"), run.get("id")
        tool = [{"actors": [{"type": "tool", "actor-uuid": self.check_component(run)}]}]
        label = f"{project.get('name')}: {run.get('title') or run.get('check')} failed"
        related = [self.add(self.observations, {
            "uuid": self.uuid("check-run", rid), "title": _t(label),
            "description": f"Automated check {_t(run.get('check'))} failed: {_t(run.get('summary')) or 'no summary'}.",
            "methods": ["TEST"], "types": ["finding"], "origins": tool, "subjects": subject,
            "props": self.props(check=run.get("check"), run_id=rid, findings=len(run.get("findings") or ()),
                                practices=", ".join(run.get("practices") or ())),
            "collected": _dt(run.get("finished_at") or run.get("started_at"), self.moment)})]
        for n, finding in enumerate(run.get("findings") or ()):
            related.append(self.add(self.observations, {
                "uuid": self.uuid("check-finding", rid, n), "title": _t(finding.get("title")) or f"Finding {n + 1}",
                "description": _t(finding.get("detail")) or _t(finding.get("title")) or "No detail reported.",
                "methods": ["TEST"], "types": ["finding"], "origins": tool, "subjects": subject,
                "props": self.props(severity=finding.get("severity"), ref=finding.get("ref"), check=run.get("check"),
                                    run_id=rid),
                "collected": _dt(run.get("finished_at") or run.get("started_at"), self.moment)}))
        risk = self.add(self.risks, {
            "uuid": self.uuid("check-risk", rid), "title": _t(f"{label}: open findings"),
            "description": f"The latest run of {_t(run.get('check'))} failed with {len(run.get('findings') or ())} "
                           f"finding(s); the practices it covers ({_t(', '.join(run.get('practices') or ()))}) are "
                           "held at level 1 until a later run passes.",
            "statement": _t(run.get("summary")) or "The check failed.", "status": "open",
            "props": self.props(check=run.get("check"), run_id=rid),
            "related-observations": [{"observation-uuid": o} for o in related]})
        self.add(self.items, {
            "uuid": self.uuid("poam-item-check", rid), "title": _t(f"{label}: fix and re-run"),
            "description": f"Fix what {_t(run.get('check'))} reports, then re-run the check.",
            "props": self.props(check=run.get("check"), run_id=rid, project_id=pid, gap="check-failed"),
            "related-observations": [{"observation-uuid": o} for o in related], "related-risks": [{"risk-uuid": risk}]})

    def acceptance_item(self, project: dict, code: str, acceptances: list, subject: list) -> None:
        pid = project.get("id")
        risk = {"uuid": self.uuid("acceptance-risk", pid, code),
                "title": _t(f"{project.get('name')}: risk accepted for {code}"),
                "description": f"The risk of not meeting practice {_t(code)} is accepted for a limited time.",
                "statement": _t(acceptances[0].get("justification")) or "No justification recorded.", "status": "open",
                "props": self.props(practice=code)}
        for acceptance in acceptances:
            self.deviation(project, acceptance, risk)
        self.add(self.risks, risk)
        self.add(self.items, {
            "uuid": self.uuid("poam-item-acceptance", pid, code), "title": _t(f"{project.get('name')}: {code} accepted risk"),
            "description": "A deviation: revisit the practice before the acceptance expires.",
            "props": self.props(practice=code, project_id=pid, gap="risk-accepted"),
            "related-risks": [{"risk-uuid": risk["uuid"]}]})

    def project(self, project: dict) -> None:
        pid = project.get("id")
        component = self.uuid("project", pid)
        self.components.append({
            "uuid": component, "type": "software", "title": _t(project.get("name")) or f"Project {pid}",
            "description": f"ML project {_t(project.get('slug'))} of team {_t(project.get('team_name'))}.",
            "props": self.props(project_id=pid, team=project.get("team"), risk_tier=project.get("risk_tier"),
                                lifecycle=project.get("lifecycle")),
            "status": {"state": _LIFECYCLE_STATE.get(project.get("lifecycle"), "other")}})
        subject = [{"subject-uuid": component, "type": "component", "title": _t(project.get("name")) or str(pid)}]
        open_acceptances = defaultdict(list)
        for acceptance in project.get("risk_acceptances") or ():
            in_force = acceptance.get("status") == "approved" and str(acceptance.get("expires_on")) >= self.as_of
            if in_force or acceptance.get("status") == "proposed":
                open_acceptances[acceptance.get("practice")].append(acceptance)
        evidence = defaultdict(list)
        for item in project.get("evidence") or ():
            evidence[item.get("practice")].append(item)
        handled = set()
        if project.get("assessment"):
            for answer in project.get("answers") or ():
                level, target = answer.get("effective_level"), answer.get("target_level")
                if answer.get("not_applicable") or level is None or target is None or level >= target:
                    continue
                code = answer.get("code")
                self.gap_item(project, answer, subject, evidence[code], open_acceptances.get(code, []))
                handled.add(code)
        for run in project.get("check_runs") or ():
            if run.get("status") == "failed":
                self.check_item(project, run, subject)
        for code, acceptances in open_acceptances.items():
            if code not in handled:
                self.acceptance_item(project, code, acceptances, subject)

    def build(self) -> dict:
        ds = self.ds
        for project in ds.get("projects") or ():
            self.project(project)
        scope = ds.get("scope") or {}
        prepared = self.party(ds.get("generated_by"))
        parties = [{"uuid": self.uuid("organisation"), "type": "organization",
                    "name": one_line((ds.get("portal") or {}).get("name")) or "MLSec Portal"}]
        parties += [{"uuid": u, "type": "person", "name": name} for name, u in self.parties.items()]
        metadata = {
            "title": _t(f"Plan of action and milestones: {scope.get('label') or scope.get('kind')} as of {ds.get('as_of')}"),
            "published": _dt(ds.get("generated_at"), self.moment),
            "last-modified": _dt(ds.get("generated_at"), self.moment),
            "version": one_line(f"{ds.get('as_of')} (catalogue {ds.get('catalog_version')})"),
            "oscal-version": OSCAL_VERSION,
            "props": self.props(scope_kind=scope.get("kind"), scope=scope.get("label"), as_of=ds.get("as_of"),
                                public_key_fingerprint=(ds.get("portal") or {}).get("public_key_fingerprint")),
            "roles": [{"id": r, "title": t} for r, t in ROLES], "parties": parties}
        if prepared:
            metadata["responsible-parties"] = [{"role-id": "prepared-by", "party-uuids": [prepared]}]
        if not self.items:  # OSCAL requires at least one item: say so, rather than invent a gap
            self.items.append({"uuid": self.uuid("poam-item-none"), "title": "No open items",
                               "description": f"No answer below its target, failing check or open risk acceptance in "
                                              f"this scope as of {_t(ds.get('as_of'))}.",
                               "props": self.props(gap="none")})
        document = {
            "uuid": self.uuid("poam"),
            "metadata": metadata,
            "system-id": {"identifier-type": "https://ietf.org/rfc/rfc4122", "id": self.uuid("system")},
            "local-definitions": {"components": self.components} if self.components else None,
            "observations": self.observations or None, "risks": self.risks or None,
            "poam-items": self.items,
        }
        return {"plan-of-action-and-milestones": {k: v for k, v in document.items() if v is not None}}


def build_poam(dataset: dict) -> dict:
    """The OSCAL POA&M document for the dataset (consumes its projects once)."""
    return _Poam(dataset).build()


def write_poam(dataset: dict, out: TextIO | BinaryIO) -> None:
    """Write the POA&M as indented UTF-8 JSON, its long lists streamed into place (bounded memory)."""
    write_streamed(_Poam(dataset, serialised=True).build(), out)
