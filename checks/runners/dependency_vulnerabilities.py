"""``dependency-vulnerabilities``: pinned dependencies against imported OSV advisories.

Decisions (docs/checks.md, MLS-03):

* Without imported advisory data the check cannot decide → ``error``
  ("no advisory data imported"); it never passes on an empty database.
* Each pinned requirement affected by an advisory is a finding (severity from
  the advisory's ``database_specific.severity`` or CVSS v3 vector, else
  high) naming the advisory id, its aliases, package, version and fixed
  versions → ``failed``.
* A missing, unreadable or confinement-refused dependency file or include is
  undecidable → ``error`` (unless something already failed).
* Unpinned requirements are *reported, not guessed*: each is a ``low``
  finding, but when nothing is vulnerable and every file was read the run
  ``passes`` with those findings listed.  Rationale: an unpinned requirement
  is a hygiene gap, not a known vulnerability; failing on it would cap MLS-03
  for every project using ranges, and an ``error`` would wrongly say the check
  could not run.  The summary says how many could not be verified, so a pass
  on mostly unpinned files is visible as such.  Editable and URL/VCS
  requirements are ``info`` findings for the same reason.
* The files are parsed in the sandbox (:func:`checks.runners.sandbox.call`, a
  child process with memory and CPU limits); only the parsed requirements come
  back, and the advisories (in the database) are matched in the worker.
"""

from __future__ import annotations

from dataclasses import asdict

from . import sandbox
from .base import BaseCheck, CheckContext, CheckResult, Finding, combine_status, plural
from .lockfiles import parse_dependency_file
from .osv import fixed_versions, is_affected, record_severity
from .paths import PathPolicy
from .requirements import ParsedRequirement

_ISSUE_SEVERITY = {"unpinned": "low", "unverifiable": "info", "cycle": "low", "error": "medium"}
_ISSUE_TITLE = {"unpinned": "unpinned requirement", "unverifiable": "unverifiable requirement",
                "cycle": "requirements include cycle", "error": "dependency file problem"}


class DependencyVulnerabilityCheck(BaseCheck):
    key = "dependency-vulnerabilities"
    title = "Dependency vulnerabilities"
    practices = ("MLS-03",)
    default_schedule = "17 2 * * *"
    time_limit_s = 300
    target = "dependency_files"
    source_kinds = ("path", "git")
    context_needs = frozenset({"advisories"})
    description = (
        "Parses the project's requirements and lock files (includes, extras, markers, hashes) and matches "
        "every exactly pinned version against the imported OSV advisories. Fails when a pinned package is "
        "affected; unpinned requirements are listed but cannot be verified; missing advisory data or an "
        "unreadable dependency file is an error."
    )

    def run(self, ctx: CheckContext) -> CheckResult:
        advisories = ctx.advisories
        if advisories is None or advisories.count() == 0:
            return CheckResult("error", "no advisory data imported: import the OSV export first",
                               data={"advisories": 0})
        try:
            parsed = sandbox.call(parse_targets, sandbox.plain_context(ctx), memory_mb=ctx.limits.memory_mb,
                                  cpu_s=self.time_limit_s, wall_s=self.time_limit_s)
        except sandbox.SandboxError as exc:
            return CheckResult("error", f"could not decide: {exc}",
                               [Finding("medium", f"sandbox limit: {exc.kind}", str(exc), "")])
        findings = [Finding(**f) for f in parsed["findings"]]
        undecided = bool(parsed["undecided"])
        files_read = [str(f) for f in parsed["files"]]
        issue_counts = {str(k): int(v) for k, v in parsed["issue_counts"].items()}
        requirements = [ParsedRequirement(**{**r, "extras": tuple(r["extras"]), "hashes": tuple(r["hashes"])})
                        for r in parsed["requirements"]]

        vulnerable: dict[tuple[str, str, str], Finding] = {}
        pinned = [r for r in requirements if r.version is not None]
        checked: set[tuple[str, str]] = set()
        for req in pinned:
            if (req.normalized, req.version) in checked:
                continue
            checked.add((req.normalized, req.version))
            for record in advisories.for_package(req.normalized):
                if not is_affected(record, req.normalized, req.version):
                    continue
                advisory_id = str(record.get("id", "?"))
                key = (req.normalized, req.version, advisory_id)
                if key not in vulnerable:
                    vulnerable[key] = _vuln_finding(record, advisory_id, req)
        vuln_findings = sorted(vulnerable.values(), key=lambda f: (-_rank(f.severity), f.title))
        findings = vuln_findings + findings

        status = combine_status(bool(vuln_findings), undecided)
        unverified = issue_counts.get("unpinned", 0) + issue_counts.get("unverifiable", 0)
        packages = len({k[:2] for k in vulnerable})
        if status == "failed":
            summary = (f"{plural(len(vuln_findings), 'known vulnerability', 'known vulnerabilities')} in "
                       f"{plural(packages, 'pinned package')}")
        elif status == "error":
            summary = "could not read every dependency file; no known vulnerability in what was read"
        else:
            summary = f"no known vulnerability in {plural(len(checked), 'pinned package')}"
        if unverified and status != "error":
            summary += f"; {unverified} requirement(s) not pinned, not verified"
        return CheckResult(status, summary, findings, data={
            "files": files_read,
            "requirements": len(requirements),
            "pinned": len(checked),
            "unpinned": issue_counts.get("unpinned", 0),
            "unverifiable": issue_counts.get("unverifiable", 0),
            "vulnerable_packages": packages,
            "vulnerabilities": [{"package": k[0], "version": k[1], "id": k[2]} for k in sorted(vulnerable)],
            "advisories": advisories.count(),
        })


def parse_targets(ctx: CheckContext) -> dict:
    """Read every dependency file of ``ctx`` (runs in the sandbox); JSON-able for the way back."""
    policy = PathPolicy.for_context(ctx)
    findings: list[Finding] = []
    undecided = False
    requirements = []
    files_read: list[str] = []
    issue_counts = {"unpinned": 0, "unverifiable": 0}
    for entry in ctx.targets.dependency_files:
        if not entry.strip():
            continue
        absolute = policy.absolute(entry.strip())
        if not policy.is_allowed(absolute):
            findings.append(policy.outside(absolute))
            undecided = True
            continue
        parsed = parse_dependency_file(absolute, is_allowed=policy.is_allowed, display=policy.display)
        files_read.extend(parsed.files)
        requirements.extend(parsed.requirements)
        for issue in parsed.issues:
            if issue.kind == "error":
                undecided = True
            issue_counts[issue.kind] = issue_counts.get(issue.kind, 0) + 1
            findings.append(Finding(_ISSUE_SEVERITY[issue.kind], _ISSUE_TITLE[issue.kind], issue.message, issue.ref))
    return {"findings": [f.as_dict() for f in findings], "undecided": undecided, "files": files_read,
            "issue_counts": issue_counts, "requirements": [asdict(r) for r in requirements]}


def _rank(severity: str) -> int:
    return ("info", "low", "medium", "high", "critical").index(severity)


def _vuln_finding(record: dict, advisory_id: str, req) -> Finding:
    aliases = [str(a) for a in record.get("aliases") or [] if isinstance(a, str)]
    fixed = fixed_versions(record, req.normalized)
    parts = [f"{req.name} {req.version} is affected by {advisory_id}"]
    if aliases:
        parts.append(f"aliases: {', '.join(aliases)}")
    parts.append(f"fixed in: {', '.join(fixed)}" if fixed else "no fixed version published")
    summary = str(record.get("summary") or "").strip()
    if summary:
        parts.append(summary[:200])
    if req.marker:
        parts.append(f"marker: {req.marker}")
    parts.append(f"declared at {req.ref}")
    return Finding(record_severity(record), f"{req.name} {req.version}: {advisory_id}", "; ".join(parts),
                   advisory_id)
