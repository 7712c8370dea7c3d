"""``model-integrity``: artifacts must match the approved SHA-256 baseline.

The first run (``ctx.baseline is None``) has nothing to compare with: it
records the digests (``data["baseline_recorded"] = True``) and passes; the
Django layer stores them as the approved baseline.  Later runs fail on any
changed, added or missing artifact, naming it, until someone with the right
role re-approves the baseline.  Digests are streamed in 1 MiB chunks.

Baseline keys may be relative (to the project's source path, as this check
reports them) or absolute; both are normalised before comparing.
"""

from __future__ import annotations

import os

from .base import CheckContext, CheckResult, Finding, combine_status, plural
from .common import ModelArtifactsCheck
from .paths import Expansion, PathPolicy, sha256_file


class ModelIntegrityCheck(ModelArtifactsCheck):
    key = "model-integrity"
    title = "Model artifact integrity"
    practices = ("MLS-23",)
    default_schedule = "10 4 * * *"
    time_limit_s = 900
    context_needs = frozenset({"baseline", "signing"})
    records_baseline = True
    after_run = "checks.baselines.after_run"
    finish_hook = "checks.baselines.record_first_baseline"
    description = (
        "Computes the SHA-256 of every configured model artifact and compares it with the approved baseline; "
        "the first run records the baseline. Fails when an artifact was changed, added or removed since the "
        "baseline was approved; an unreadable artifact is an error."
    )

    def run_files(self, ctx: CheckContext, policy: PathPolicy, expansion: Expansion,
                  findings: list[Finding]) -> CheckResult:
        artifacts: dict[str, str] = {}
        unreadable: list[str] = []
        for item in expansion.files:
            try:
                artifacts[item.display] = sha256_file(item.real)
            except OSError as exc:
                unreadable.append(item.display)
                findings.append(Finding("medium", "artifact unreadable", type(exc).__name__, item.display))
        undecided = bool(unreadable or expansion.undecided)
        data: dict = {"artifacts": artifacts}
        signatures = None
        if ctx.signing is not None and expansion.files:
            from .signing import check_signatures

            signatures = check_signatures(ctx.signing, expansion.files, policy)
            findings += signatures.findings
            data["signatures"] = signatures.data
            undecided = undecided or signatures.undecided

        if ctx.baseline is None:
            if not expansion.files and not expansion.findings:
                return CheckResult("error", "no artifact found: the configured paths match no file", findings, data)
            if signatures is not None and signatures.failed:
                return CheckResult("failed", "baseline not recorded: a model's signature is missing or invalid",
                                   findings, data)
            if undecided:
                return CheckResult("error", "baseline not recorded: some artifacts could not be read", findings, data)
            data["baseline_recorded"] = True
            return CheckResult("passed", f"baseline recorded for {plural(len(artifacts), 'artifact')}",
                               findings, data)

        baseline = {_key(policy, path): digest.lower() for path, digest in ctx.baseline.items()}
        changed, added, missing = [], [], []
        for path, digest in sorted(artifacts.items()):
            if path not in baseline:
                added.append(path)
                findings.append(Finding("medium", f"artifact added: {path}",
                                        "not in the approved baseline; re-approve the baseline if intended",
                                        path))
            elif baseline[path] != digest:
                changed.append(path)
                findings.append(Finding("high", f"artifact changed: {path}",
                                        f"SHA-256 {digest} differs from the approved {baseline[path]}", path))
        for path in sorted(set(baseline) - set(artifacts) - set(unreadable)):
            missing.append(path)
            findings.append(Finding("high", f"artifact missing: {path}",
                                    "in the approved baseline but not found any more", path))
        data.update({"changed": changed, "added": added, "missing": missing})
        signature_failed = signatures is not None and signatures.failed
        status = combine_status(bool(changed or added or missing) or signature_failed, undecided)
        if status == "failed" and not (changed or added or missing):
            summary = "a model's signature is missing or does not cover its files"
        elif status == "failed":
            parts = [f"{len(x)} {label}" for x, label in ((changed, "changed"), (added, "added"),
                                                            (missing, "missing")) if x]
            summary = "artifacts differ from the approved baseline: " + ", ".join(parts)
        elif status == "error":
            summary = f"could not hash {plural(len(unreadable) + len(expansion.findings) + len(expansion.unmatched), 'target')}"
        else:
            summary = f"{plural(len(artifacts), 'artifact')} match the approved baseline"
        return CheckResult(status, summary, findings, data)


def _key(policy: PathPolicy, path: str) -> str:
    """Baseline keys in the same form as ``data["artifacts"]`` keys."""
    return policy.display(path) if os.path.isabs(path) else os.path.normpath(path)
