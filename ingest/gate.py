"""The gate: the portal's verdict on one commit of a project, from the results recorded for it.

It fails when nothing was recorded for the commit, when a report is still being processed or
failed, when a report scanned nothing (an empty SARIF log, SBOM or scan: per policy; otherwise such a
report is ignored, and a commit with only empty reports has no results at all), when a finding reaches the policy's severity, when a check run from the commit's reports
failed (or, per policy, could not decide), and when the commit's SBOM names models but no model
scanner's results exist for the commit (or the policy requires a model scan and there is none).
Thresholds come from the project's `GatePolicy` (defaults when none is set).
"""

from __future__ import annotations

from checks.choices import RunStatus
from checks.models import CheckRun

from .choices import MODEL_SCAN_FORMATS, SEVERITY_RANK, ReportFormat, UploadStatus
from .models import GatePolicy, ResultUpload


def gate_policy(project) -> GatePolicy:
    return GatePolicy.objects.filter(project=project).first() or GatePolicy(project=project)


def gate_verdict(project, commit: str) -> dict:
    """`{"verdict", "reasons", "commit"}` for `commit` (three queries)."""
    commit = commit.lower()
    policy = gate_policy(project)
    uploads = list(ResultUpload.objects.filter(project=project, commit=commit)
                   .only("pk", "status", "format", "severity_counts", "assets", "detail"))
    reasons = []
    empty = [u for u in uploads if u.status == UploadStatus.EMPTY]
    if policy.fail_on_empty_report:
        reasons += [f"report {u.pk} ({u.format}) scanned nothing and verifies nothing: {u.detail[:200]}"
                    for u in empty]
    uploads = [u for u in uploads if u.status != UploadStatus.EMPTY]
    if not uploads:
        return _verdict(commit, [*reasons, f"no scan results are recorded for commit {commit}" if empty
                                 else f"no results are recorded for commit {commit}"])
    pending = [u.pk for u in uploads if u.status in (UploadStatus.QUEUED, UploadStatus.PROCESSING)]
    if pending:
        reasons.append(f"{len(pending)} report(s) still processing (results/{pending[0]}/): ask again when done")
    for failed in (u for u in uploads if u.status == UploadStatus.FAILED):
        reasons.append(f"report {failed.pk} could not be processed: {failed.detail[:200]}")
    threshold = SEVERITY_RANK[policy.fail_severity]
    totals: dict[str, int] = {}
    for u in uploads:
        for severity, n in (u.severity_counts or {}).items():
            totals[severity] = totals.get(severity, 0) + int(n)
    for severity in sorted(totals, key=lambda s: -SEVERITY_RANK.get(s, 0)):
        if SEVERITY_RANK.get(severity, 0) >= threshold and totals[severity]:
            reasons.append(f"{totals[severity]} {severity} finding(s) (the policy fails at {policy.fail_severity})")
    runs = list(CheckRun.objects.filter(result_uploads__in=[u.pk for u in uploads]).distinct().order_by("pk")
                .only("pk", "definition_id", "status", "summary"))
    if policy.fail_on_failed_check:
        for run in (r for r in runs if r.status in (RunStatus.FAILED, RunStatus.ERROR)):
            word = "failed" if run.status == RunStatus.FAILED else "could not decide"
            reasons.append(f"check {run.definition_id} {word}: {run.summary[:200]}")
    # A model scanner's report, or the portal's own model-serialization runner pushed by `mlsec scan`.
    scanned = any(u.format in MODEL_SCAN_FORMATS and u.status == UploadStatus.DONE for u in uploads) or any(
        r.definition_id == "model-serialization" and r.status in (RunStatus.PASSED, RunStatus.FAILED) for r in runs)
    models_named = any(a.get("kind") == "model" for u in uploads if u.format == ReportFormat.CYCLONEDX
                       for a in (u.assets or []))
    if not scanned and (policy.require_model_scan or models_named):
        reasons.append("no model scanner's results (modelscan, fickling, picklescan) are recorded for this commit"
                       + (" although its SBOM names models" if models_named else ""))
    return _verdict(commit, reasons)


def _verdict(commit: str, reasons: list[str]) -> dict:
    return {"verdict": "fail" if reasons else "pass", "reasons": reasons, "commit": commit}
