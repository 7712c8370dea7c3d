"""OSCAL assessment-results export (OSCAL 1.1.x JSON), deterministic for a given dataset.

How the portal maps onto OSCAL:
- one `result` for the export, start = end = the moment every input was taken at;
- `reviewed-controls` selects every practice of the catalogue (control ids lower-cased: `mls-01`);
- every project is a `component` of the result's local definitions, the subject of its observations;
  every automated check is a `component` too (type software), the `tool` actor of its observations;
- one `observation` per project × practice that is assessed (a level or not applicable), method
  EXAMINE (a self-assessment reviewed by an officer), its evidence in `relevant-evidence` (bundle path
  or URL as href, SHA-256 as a property) and one observation per check run, method TEST;
- a `finding` for every gap — below the target level, capped by a failing check, a failed check, an
  accepted risk — with target status `not-satisfied`; an answer that meets an explicit target level
  with no gap gets a `satisfied` finding (without a target there is nothing to be satisfied against);
- each risk acceptance is a `risk` (approved → deviation-approved, proposed → deviation-requested,
  rejected or expired → closed), linked from the finding of its practice;
- every piece of evidence is a back-matter resource (a file's rlink carries its SHA-256 hash); the
  `import-ap` href points at a back-matter resource describing the self-assessment plan (the
  catalogue), since the portal has no separate OSCAL assessment plan.

UUIDs are version-5 UUIDs over the scope, the as_of day and the object's ids, so the same input
gives the same document, and the same project × practice keeps its UUID across exports of a day.
"""

from __future__ import annotations

import base64
import re
import uuid
import zlib
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any, BinaryIO, TextIO
from urllib.parse import quote

import orjson

from .common import answer_status, assessment_cycle, assessment_status, byte_writer, json_default, one_line

OSCAL_VERSION = "1.1.2"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:mlsec-portal:oscal-assessment-results")
_LIFECYCLE_STATE = {"production": "operational", "staging": "under-development", "development": "under-development",
                    "research": "under-development", "retired": "disposition"}


def _dt(value: Any, fallback: str) -> str:
    """An RFC 3339 date-time with a time zone, as OSCAL requires (dates become the day's start, UTC)."""
    if not value:
        value = fallback
    if isinstance(value, datetime | date):
        parsed = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


_MARKDOWN = re.compile(r"([\\`*_\[\]<>&])")


def _md(text: str) -> str:
    """User text inside OSCAL markup (Markdown): escape what would turn into markup or raw HTML."""
    return _MARKDOWN.sub(r"\\\1", text)


def _embedded(filename: str, text: Any) -> dict:
    """A back-matter base64 block holding a short text (UTF-8, text/plain)."""
    data = (str(text or "").strip() or "(empty)").encode("utf-8")
    return {"filename": filename, "media-type": "text/plain", "value": base64.b64encode(data).decode()}


def _t(value: Any) -> str:
    """A single line of user text for an OSCAL markup-line or markup-multiline field."""
    return _md(one_line(value))


class _Serialised:
    """A list kept as its items' JSON (orjson), compressed 1 MiB at a time: a 2,000-project organisation's
    observations and findings are ~100 MB of JSON, five times that as dicts, a tenth compressed."""

    BLOCK = 1 << 20

    def __init__(self) -> None:
        self._front: list[bytes] = []  # items inserted at the start (the assessment plan resource)
        self._blocks: list[bytes] = []
        self._buffer = bytearray()
        self._count = 0

    @staticmethod
    def _json(item) -> bytes:
        return orjson.dumps(item, default=json_default, option=orjson.OPT_INDENT_2)

    def append(self, item) -> None:
        if self._count > len(self._front):
            self._buffer += b",\n"
        self._buffer += self._json(item)
        self._count += 1
        if len(self._buffer) >= self.BLOCK:
            self._blocks.append(zlib.compress(bytes(self._buffer), 1))
            self._buffer.clear()

    def insert(self, index: int, item) -> None:
        if index != 0:
            raise ValueError("only inserts at the start are kept")
        self._front.insert(0, self._json(item))
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def chunks(self):
        """The JSON array, in pieces of about one block (each block is dropped once written)."""
        yield b"[\n" + b",\n".join(self._front) + (b",\n" if self._front and self._count > len(self._front) else b"")
        while self._blocks:
            yield zlib.decompress(self._blocks.pop(0))
        yield bytes(self._buffer) + b"\n]"
        self._buffer.clear()


class _Document:
    """What the portal's OSCAL documents share (this one and the POA&M of oscal_poam.py): the scope key
    behind their deterministic UUIDs, the portal's namespace for props, parties, and one software component
    per automated check. Each document names its own UUID `namespace`."""

    namespace: uuid.UUID

    def __init__(self, dataset: dict, serialised: bool = False):
        self.ds = dataset
        scope = dataset.get("scope") or {}
        self.key = f"{scope.get('kind')}|{scope.get('team')}|{scope.get('project')}|{dataset.get('as_of')}"
        self.base_url = ((dataset.get("portal") or {}).get("base_url") or "").rstrip("/")
        self.ns = (self.base_url or "https://mlsec-portal.invalid") + "/ns/oscal"
        self.moment = _dt(dataset.get("moment"), dataset.get("generated_at"))
        self.parties: dict[str, str] = {}
        # serialised: items kept as compressed JSON until written (write_oscal, write_poam)
        self.collection = _Serialised if serialised else list
        self.components: list[dict] = self.collection()
        self.check_components: dict[str, str] = {}

    def uuid(self, *parts: Any) -> str:
        return str(uuid.uuid5(self.namespace, self.key + "|" + "|".join(str(p) for p in parts)))

    def prop(self, name: str, value: Any) -> dict | None:
        text = one_line(value)
        return {"name": name, "ns": self.ns, "value": text} if text else None

    def props(self, **values: Any) -> list[dict]:
        return [p for p in (self.prop(k.replace("_", "-"), v) for k, v in values.items()) if p]

    def party(self, username: str | None) -> str | None:
        if not username:
            return None
        if username not in self.parties:
            self.parties[username] = self.uuid("party", username)
        return self.parties[username]

    def origin(self, username: str | None, role: str) -> list[dict] | None:
        party = self.party(username)
        return [{"actors": [{"type": "party", "actor-uuid": party, "role-id": role}]}] if party else None

    def check_component(self, run: dict) -> str:
        key = run.get("check") or "check"
        if key not in self.check_components:
            self.check_components[key] = self.uuid("check", key)
            self.components.append({
                "uuid": self.check_components[key], "type": "software", "title": _t(run.get("title") or key),
                "description": f"MLSec Portal automated check {_t(key)}.", "props": self.props(check=key),
                "status": {"state": "operational"}})
        return self.check_components[key]


class _Builder(_Document):
    namespace = _NAMESPACE

    def __init__(self, dataset: dict, serialised: bool = False):
        super().__init__(dataset, serialised)
        self.observations: list[dict] = self.collection()
        self.findings: list[dict] = self.collection()
        self.risks: list[dict] = self.collection()
        self.resources: list[dict] = self.collection()

    def project(self, project: dict) -> None:
        pid = project.get("id")
        comp = self.uuid("project", pid)
        assessment = project.get("assessment") or {}
        self.components.append({
            "uuid": comp, "type": "software", "title": _t(project.get("name")) or f"Project {pid}",
            "description": f"ML project {_t(project.get('slug'))} of team {_t(project.get('team_name'))}.",
            "props": self.props(project_id=pid, team=project.get("team"), risk_tier=project.get("risk_tier"),
                                lifecycle=project.get("lifecycle"), data_classification=project.get("data_classification"),
                                score=project.get("score"), assessment_cycle=assessment_cycle(project),
                                assessment_status=assessment_status(project),
                                submitted_by=assessment.get("submitted_by"), reviewed_by=assessment.get("reviewed_by")),
            "status": {"state": _LIFECYCLE_STATE.get(project.get("lifecycle"), "other")}})
        subject = [{"subject-uuid": comp, "type": "component", "title": _t(project.get("name")) or str(pid)}]
        run_obs, failed = {}, defaultdict(list)
        for run in project.get("check_runs") or ():
            run_obs[run.get("id")] = self.check_run(project, run, subject)
            if run.get("status") == "failed":
                for code in run.get("practices") or ():
                    failed[code].append(run_obs[run.get("id")])
        risks = defaultdict(list)
        for acceptance in project.get("risk_acceptances") or ():
            risks[acceptance.get("practice")].append(self.risk(project, acceptance, subject))
        evidence = defaultdict(list)
        for item in project.get("evidence") or ():
            evidence[item.get("practice")].append(item)
        collected = _dt(assessment.get("reviewed_at") or assessment.get("submitted_at"), self.moment)
        for answer in project.get("answers") or ():
            code = answer.get("code")
            obs = None
            if assessment and (answer.get("level") is not None or answer.get("not_applicable")):
                obs = self.answer(project, answer, subject, evidence[code], collected, assessment)
            self.finding(project, answer, obs, failed.get(code, []), risks.get(code, []))

    def evidence_ref(self, item: dict) -> dict:
        res = self.uuid("evidence", item.get("id"))
        resource = {"uuid": res, "title": _t(item.get("title")) or f"Evidence {item.get('id')}",
                    "description": _t(item.get("text")) or f"{item.get('kind')} evidence for {item.get('practice')}",
                    "props": self.props(evidence_id=item.get("id"), kind=item.get("kind"), status=item.get("status"),
                                        version=item.get("version"), valid_until=item.get("valid_until"),
                                        uploaded_by=item.get("uploaded_by"), reviewed_by=item.get("reviewed_by"),
                                        original_name=item.get("original_name"), sha256=item.get("sha256"))}
        href = None
        if item.get("file"):
            href = quote(item["file"], safe="/-._~")
            link = {"href": href, "media-type": one_line(item.get("content_type")) or "application/octet-stream"}
            if item.get("sha256"):
                link["hashes"] = [{"algorithm": "SHA-256", "value": item["sha256"]}]
            resource["rlinks"] = [link]
        elif item.get("url"):
            href = one_line(item["url"])
            resource["rlinks"] = [{"href": href}]
        else:  # notes and check results: the text itself (NIST wants an rlink or base64 on every resource)
            resource["base64"] = _embedded(f"evidence-{item.get('id')}.txt", item.get("text") or item.get("title"))
        self.resources.append({k: v for k, v in resource.items() if v})
        ref = {"href": href or f"#{res}", "description": resource["title"],
               "props": self.props(sha256=item.get("sha256"), kind=item.get("kind"), status=item.get("status"),
                                   valid_until=item.get("valid_until"))}
        return {k: v for k, v in ref.items() if v}

    def answer(self, project: dict, answer: dict, subject: list, items: list, collected: str, assessment: dict) -> str:
        obs = self.uuid("observation", project.get("id"), answer.get("code"))
        if answer.get("not_applicable"):
            text = f"Not applicable: {_t(answer.get('justification')) or 'no justification given'}."
        else:
            text = f"Self-assessed at level {answer.get('level')} of 4"
            if answer.get("capped"):
                text += f", held at level {answer.get('effective_level')} by a failing automated check"
            text += "."
            if answer.get("notes"):
                text += f"\n\nNotes: {_t(answer.get('notes'))}"
        self.observations.append({k: v for k, v in {
            "uuid": obs, "title": _t(f"{project.get('name')}: {answer.get('code')} {answer.get('title')}"),
            "description": text,
            "props": self.props(practice=answer.get("code"), level=answer.get("level"),
                                effective_level=answer.get("effective_level"), target_level=answer.get("target_level"),
                                score=answer.get("score"), status=answer_status(answer), owner=answer.get("owner"),
                                due_date=answer.get("due_date"), verified=str(bool(answer.get("verified"))).lower()),
            "methods": ["EXAMINE"], "types": ["control-objective"],
            "origins": self.origin(assessment.get("submitted_by"), "self-assessor"),
            "subjects": subject, "relevant-evidence": [self.evidence_ref(i) for i in items] or None,
            "collected": collected}.items() if v})
        return obs

    def check_run(self, project: dict, run: dict, subject: list) -> str:
        obs = self.uuid("check-run", run.get("id"))
        lines = [f"Automated check {_t(run.get('check'))} {_t(run.get('status'))}: "
                 f"{_t(run.get('summary')) or 'no summary'}."]
        lines += [f"- {_t(f.get('severity'))}: {_t(f.get('title'))}"
                  + (f" ({_t(f.get('ref'))})" if f.get("ref") else "") for f in run.get("findings") or ()]
        props = self.props(check=run.get("check"), run_id=run.get("id"), status=run.get("status"),
                           findings=len(run.get("findings") or ()), started_at=run.get("started_at"))
        props += [p for p in (self.prop("practice", c) for c in run.get("practices") or ()) if p]
        tool = self.check_component(run)
        self.observations.append({
            "uuid": obs, "title": _t(f"{project.get('name')}: {run.get('title') or run.get('check')} "
                                           f"{run.get('status')}"),
            "description": "\n".join(lines), "props": props, "methods": ["TEST"],
            "types": ["finding" if run.get("status") == "failed" else "control-objective"],
            "origins": [{"actors": [{"type": "tool", "actor-uuid": tool}]}], "subjects": subject,
            "collected": _dt(run.get("finished_at") or run.get("started_at"), self.moment)})
        return obs

    def risk(self, project: dict, acc: dict, subject: list) -> str:
        risk = self.uuid("risk", acc.get("id"))
        expires = acc.get("expires_on")
        status = {"approved": "deviation-approved", "proposed": "deviation-requested"}.get(acc.get("status"), "closed")
        if status == "deviation-approved" and expires and str(expires) < str(self.ds.get("as_of")):
            status = "closed"
        why = _t(acc.get("justification")) or "No justification recorded."
        self.risks.append({k: v for k, v in {
            "uuid": risk, "title": _t(f"{project.get('name')}: risk accepted for {acc.get('practice')}"),
            "description": f"Risk acceptance {acc.get('id')} ({acc.get('status')}) for practice {acc.get('practice')}.",
            "statement": why, "status": status,
            "props": self.props(practice=acc.get("practice"), acceptance_status=acc.get("status"),
                                proposed_by=acc.get("proposed_by"), approved_by=acc.get("approved_by"),
                                decided_at=acc.get("decided_at"), expires_on=expires),
            "origins": self.origin(acc.get("approved_by") or acc.get("proposed_by"), "risk-approver"),
            "deadline": _dt(f"{expires}T23:59:59+00:00", self.moment) if expires else None}.items() if v})
        return risk

    def finding(self, project: dict, answer: dict, obs: str | None, failed: list[str], risks: list[str]) -> None:
        level, target, gaps = answer.get("effective_level"), answer.get("target_level"), []
        if level is not None and target is not None and level < target:
            gaps.append(("below-target", f"level {level} is below the target level {target}"))
        if answer.get("capped"):
            gaps.append(("capped", "a failing automated check holds the practice at level 1"))
        if failed and not answer.get("capped"):
            gaps.append(("check-failed", "an automated check covering the practice failed"))
        if answer.get("accepted") or risks:
            gaps.append(("risk-accepted" if answer.get("accepted") else "risk-acceptance",
                         "the risk of not meeting the practice is accepted" if answer.get("accepted")
                         else "a risk acceptance was proposed or decided for the practice"))
        satisfied = not gaps and level is not None and target is not None and not answer.get("not_applicable")
        if not gaps and not satisfied:
            return
        control = str(answer.get("code", "")).lower()
        related = [o for o in [obs, *failed] if o]
        text = "; ".join(t for _g, t in gaps) if gaps else f"level {level} meets the target level {target}"
        only_risk = all(g.startswith("risk") for g, _t in gaps)
        self.findings.append({k: v for k, v in {
            "uuid": self.uuid("finding", project.get("id"), answer.get("code")),
            "title": _md(one_line(f"{project.get('name')}: {answer.get('code')} {answer.get('title')}")),
            "description": _md(text[:1].upper() + text[1:] + "."),
            "props": self.props(practice=answer.get("code"), status=answer_status(answer))
            + [p for p in (self.prop("gap", g) for g, _t in gaps) if p],
            "target": {"type": "objective-id", "target-id": f"{control}_obj",
                       "title": _md(one_line(f"{answer.get('code')} {answer.get('title')}")),
                       "status": {"state": "satisfied" if satisfied else "not-satisfied",
                                  "reason": "pass" if satisfied else ("other" if only_risk else "fail")}},
            "related-observations": [{"observation-uuid": o} for o in related] or None,
            "related-risks": [{"risk-uuid": r} for r in risks] or None}.items() if v})

    def build(self) -> dict:
        ds = self.ds
        for project in ds.get("projects") or ():
            self.project(project)
        scope = ds.get("scope") or {}
        plan = self.uuid("assessment-plan")
        self.resources.insert(0, {
            "uuid": plan, "title": f"MLSec Portal self-assessment plan, catalogue {_t(ds.get('catalog_version'))}",
            "description": "Teams self-assess each ML project against every practice of the MLSec catalogue; a "
                           "security officer reviews and approves each assessment; automated checks verify some "
                           "practices and cap them at level 1 when they fail.",
            "props": self.props(catalog_version=ds.get("catalog_version")),
            **({"rlinks": [{"href": f"{self.base_url}/catalogue/", "media-type": "text/html"}]} if self.base_url else
               {"base64": _embedded("assessment-plan.txt", "MLSec Portal self-assessment against the practice catalogue "
                                    f"{ds.get('catalog_version')}.")})})
        generated_by = self.party(ds.get("generated_by"))
        parties = [{"uuid": u, "type": "person", "name": name} for name, u in self.parties.items()]
        org = self.uuid("organisation")
        parties.insert(0, {"uuid": org, "type": "organization",
                           "name": one_line((ds.get("portal") or {}).get("name")) or "MLSec Portal"})
        summary = ds.get("summary") or {}
        result = {k: v for k, v in {
            "uuid": self.uuid("result"),
            "title": _t(f"ML security practices of {scope.get('label') or scope.get('kind')} as of {ds.get('as_of')}"),
            "description": f"Self-assessments, automated check results, evidence and risk acceptances of the "
                           f"{scope.get('kind')} scope *{_t(scope.get('label'))}* as they stood on "
                           f"{ds.get('as_of')}, exported by MLSec Portal.",
            "start": self.moment, "end": self.moment,
            "props": self.props(scope_kind=scope.get("kind"), scope=scope.get("label"), as_of=ds.get("as_of"),
                                score=summary.get("score"), coverage=summary.get("coverage"),
                                verified=summary.get("verified"), projects=summary.get("projects"),
                                covered_projects=summary.get("covered_projects")),
            "local-definitions": {"components": self.components} if self.components else None,
            "reviewed-controls": {"control-selections": [{"include-controls": [
                {"control-id": str(p.get("code")).lower()} for p in ds.get("practices") or ()]}]},
            "observations": self.observations or None, "risks": self.risks or None,
            "findings": self.findings or None}.items() if v}
        roles = [{"id": r, "title": t} for r, t in (("report-generator", "Report generator"),
                                                    ("self-assessor", "Self-assessor"),
                                                    ("risk-approver", "Risk approver"))]
        metadata = {
            "title": _t(ds.get("title")) or "ML security assessment results",
            "published": _dt(ds.get("generated_at"), self.moment),
            "last-modified": _dt(ds.get("generated_at"), self.moment),
            "version": one_line(f"{ds.get('as_of')} (catalogue {ds.get('catalog_version')})"),
            "oscal-version": OSCAL_VERSION,
            "props": self.props(public_key_fingerprint=(ds.get("portal") or {}).get("public_key_fingerprint")),
            "roles": roles, "parties": parties}
        if generated_by:
            metadata["responsible-parties"] = [{"role-id": "report-generator", "party-uuids": [generated_by]}]
        return {"assessment-results": {
            "uuid": self.uuid("assessment-results"),
            "metadata": {k: v for k, v in metadata.items() if v},
            "import-ap": {"href": f"#{plan}"},
            "results": [result],
            "back-matter": {"resources": self.resources}}}


def build_assessment_results(dataset: dict) -> dict:
    """The OSCAL assessment-results document for the dataset (consumes its projects once)."""
    return _Builder(dataset).build()


def write_oscal(dataset: dict, out: TextIO | BinaryIO) -> None:
    """Write the OSCAL document as indented UTF-8 JSON to a text or binary stream.

    In bounded memory: the long lists (observations, findings, risks, components, resources) are kept as
    each item's JSON bytes while the projects are read, and written item by item into their places
    in the document; the same input gives the same bytes."""
    write_streamed(_Builder(dataset, serialised=True).build(), out)


def write_streamed(document: dict, out: TextIO | BinaryIO) -> None:
    """Write `document`, whose long lists are `_Serialised`, as JSON: each list streamed into its place."""
    write = byte_writer(out)
    lists: list[_Serialised] = []

    def marked(value):
        if isinstance(value, _Serialised):
            lists.append(value)
            return f"\x00mlsec-oscal-list-{len(lists) - 1}\x00"
        if isinstance(value, dict):
            return {k: marked(v) for k, v in value.items()}
        if isinstance(value, list):
            return [marked(v) for v in value]
        return value

    skeleton = orjson.dumps(marked(document), default=json_default, option=orjson.OPT_INDENT_2)
    for index, items in enumerate(lists):
        before, _, skeleton = skeleton.partition(f'"\\u0000mlsec-oscal-list-{index}\\u0000"'.encode())
        write(before)
        for piece in items.chunks():
            write(piece)
    write(skeleton + b"\n")
