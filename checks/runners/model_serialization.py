"""``model-serialization``: find code-executing payloads in model artifacts without loading them.

Each file goes through :func:`checks.runners.artifact_scan.scan_artifact`: the format is sniffed
from the bytes, pickle-based formats meet the allow-list policy (every import listed; anything
outside the documented safe reconstructors and the team's reviewed extras is a finding) with
picklescan, modelscan and fickling as second opinions; Keras, HDF5, SavedModel, ONNX, GGUF and
safetensors files are parsed by their own readers (:mod:`checks.runners.formats`).

A high or critical finding fails the artifact.  A file nobody could parse completely is *error*,
never clean.  The verdict records the policy, parser and scanner versions
(``data["scanners"]``) so a rescan after an upgrade can tell what changed.

Hostile files are expected, so the check runs in the sandbox (:mod:`checks.runners.sandbox`: memory
and CPU limits on a child process), and a bounded opcode walk goes over every pickle stream before
anything else reads it, with the caps of ``ctx.limits``: an archive with more members than
``max_archive_members``, a member or stream larger than ``max_decompressed_bytes``, or a stream with
more than ``max_pickle_opcodes`` opcodes is an *error* ("exceeds a scanning limit") and is never
handed to the policy walk, picklescan, modelscan or fickling.
"""

from __future__ import annotations

from .artifact_scan import Allowances, FileReport, scan_artifact, scan_versions
from .base import (
    CheckContext,
    CheckResult,
    Finding,
    ResourceLimits,
    SandboxLimits,
    combine_status,
    plural,
)
from .common import ModelArtifactsCheck
from .paths import Expansion, PathPolicy, sha256_file


class ModelSerializationCheck(ModelArtifactsCheck):
    key = "model-serialization"
    title = "Model serialization safety"
    practices = ("MLS-11", "MLS-13", "MLS-23")
    default_schedule = "40 3 * * *"
    time_limit_s = 900
    context_needs = frozenset({"allowances"})
    sandbox = SandboxLimits()
    description = (
        "Scans the configured model artifacts without ever loading them: pickle-based files (pickle, joblib, "
        "PyTorch, NumPy) against an allow-list of safe reconstructors with picklescan, modelscan and fickling as "
        "second opinions; Keras, HDF5, SavedModel, ONNX, GGUF and safetensors by their own readers. Fails on any "
        "import outside the allow-list or code-carrying construct; a file nothing can fully parse is an error."
    )

    def run_files(self, ctx: CheckContext, policy: PathPolicy, expansion: Expansion,
                  findings: list[Finding]) -> CheckResult:
        artifacts: dict[str, str] = {}
        files: dict[str, dict] = {}
        bad: list[str] = []
        undecided: list[str] = []
        allowances = _allowances(ctx)
        covered: dict[str, str] = {}  # real path -> the model that reads it (ONNX external data)
        # ONNX models first: the external data files they read are part of them, not unknown files
        ordered = sorted(expansion.files, key=lambda f: not f.real.lower().endswith(".onnx"))
        for item in ordered:
            try:
                artifacts[item.display] = sha256_file(item.real)
                report = inspect_artifact(item.real, item.display, allowances, ctx.limits)
                if item.real in covered and report.verdict == "error":
                    # raw tensor bytes of an ONNX model: parsed as its external data, not as a model of its own
                    files[item.display] = {"format": "onnx external data", "verdict": "clean", "scanned_by": ["onnx"],
                                           "notes": [f"external data of {covered[item.real]}"]}
                    continue
            except OSError as exc:
                undecided.append(item.display)
                findings.append(Finding("medium", "artifact unreadable", f"{type(exc).__name__}", item.display))
                continue
            except MemoryError:
                undecided.append(item.display)
                findings.append(Finding("medium", "artifact exceeds a scanning limit",
                                        f"parsing it needs more than the memory limit of {ctx.limits.memory_mb} MB",
                                        item.display))
                continue
            except Exception as exc:  # noqa: BLE001 - one hostile file must not hide the verdicts on the others
                undecided.append(item.display)
                findings.append(Finding("medium", "artifact could not be parsed",
                                        f"scanning crashed ({type(exc).__name__})", item.display))
                continue
            for path in report.covers:
                covered.setdefault(path, item.display)
            files[item.display] = report.as_data()
            findings += report.all_findings()
            verdict = report.verdict
            if verdict == "dangerous":
                bad.append(item.display)
            elif verdict == "error":
                undecided.append(item.display)
                title = ("artifact exceeds a scanning limit" if report.capped else
                         "unsupported artifact format" if report.format == "unsupported" else "artifact could not be parsed")
                findings.append(Finding("medium", title, "; ".join(report.errors)[:600], item.display))
            elif verdict == "not-a-model":
                findings.append(Finding("info", "not a model artifact, skipped", "", item.display))
            elif report.allowed_by_team:
                findings.append(Finding("info", f"imports allowed by the team's reviewed list in {item.display}",
                                        ", ".join(sorted(report.allowed_by_team))[:600], item.display))

        data = {"artifacts": artifacts, "files": files, "scanners": scan_versions()}
        if not expansion.files and not expansion.findings:
            return CheckResult("error", "no artifact found: the configured paths match no file", findings, data)
        only_data = files and all(f["verdict"] == "not-a-model" for f in files.values())
        if only_data and not (undecided or expansion.undecided):
            return CheckResult("error", "no model artifact found: every matched file is documentation or data",
                               findings, data)
        problems = bool(undecided or expansion.undecided)
        status = combine_status(bool(bad), problems)
        if status == "failed":
            summary = (f"{plural(len(bad), 'artifact')} would run code or import names outside the allow-list "
                       f"when loaded: {', '.join(bad[:5])}")
        elif status == "error":
            count = len(undecided) + len(expansion.findings) + len(expansion.unmatched)
            summary = f"could not vouch for {plural(count, 'artifact target')}; no dangerous import found elsewhere"
        else:
            scanned = sum(1 for f in files.values() if f["verdict"] == "clean")
            summary = f"{plural(scanned, 'artifact')} scanned, no dangerous import found"
        return CheckResult(status, summary, findings, data)


def inspect_artifact(real: str, display: str, allowances: Allowances | None = None,
                     limits: ResourceLimits | None = None) -> FileReport:
    """One artifact's report (format, verdict, findings, what each scanner said), within ``limits``."""
    return scan_artifact(real, display, allowances, limits)


def _allowances(ctx: CheckContext) -> Allowances:
    extra = ctx.allowances or {}
    return Allowances(pickle_globals=dict(extra.get("pickle-global") or {}),
                      onnx_domains=dict(extra.get("onnx-domain") or {}))
