"""`mlsec scan`: the portal's own check runners on a working tree, written as SARIF 2.1.0.

Nothing is re-implemented: the runners are imported from the portal (`checks.runners`, plain Python)
and run exactly as the workers run them, confined to the scanned directory. Each check is one SARIF
run whose driver names the check (`properties.mlsec_check`), so the portal files the results under
that same check.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import __version__

MODEL_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".safetensors", ".onnx", ".h5",
                  ".keras", ".gguf", ".npy", ".npz"}
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox"}
CHECKS = ("model-serialization", "source-secrets", "source-static-analysis")
SEVERITY_SCORE = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0", "info": "0.0"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "none"}


def _runners():
    source = os.environ.get("MLSEC_PORTAL_SRC")
    if source:
        sys.path.insert(0, source)
    try:
        from checks import runners
    except ImportError as exc:
        raise SystemExit(f"mlsec scan needs the portal's runners: run it from a portal checkout or set "
                         f"MLSEC_PORTAL_SRC ({exc})") from None
    return runners


def model_files(root: Path) -> list[str]:
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        found += [str(Path(directory) / f) for f in files if Path(f).suffix.lower() in MODEL_SUFFIXES]
    return sorted(found)


def scan(root: Path) -> tuple[dict, list[tuple[str, object]]]:
    """Run the checks that apply to `root`; returns (the SARIF log, [(check key, result)])."""
    runners = _runners()
    root = root.resolve()
    targets = runners.CheckTargets(source_path=str(root), model_artifacts=model_files(root))
    context = runners.CheckContext(targets=targets, allowed_roots=[str(root)])
    done = []
    for key in CHECKS:
        check = runners.REGISTRY[key]()
        if check.applies(targets):
            done.append((key, runners.run_check(key, context)))
    return sarif_log(root, done), done


def _relative(root: Path, ref: str) -> str:
    path = ref.split(":", 1)[0] if ref and not ref.startswith("/") else ref
    try:
        return str(Path(path).resolve().relative_to(root)) if path else ""
    except (ValueError, OSError):
        return ref


def sarif_log(root: Path, done) -> dict:
    runs = []
    for key, result in done:
        results = [{
            "ruleId": f"{key}/{finding.title[:60]}", "level": LEVEL.get(finding.severity, "warning"),
            "message": {"text": f"{finding.title}: {finding.detail}" if finding.detail else finding.title},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _relative(root, finding.ref)}}}],
            "properties": {"security-severity": SEVERITY_SCORE.get(finding.severity, "5.5")},
        } for finding in result.findings]
        runs.append({"tool": {"driver": {"name": f"mlsec {key}", "semanticVersion": __version__,
                                         "properties": {"mlsec_check": key, "status": result.status,
                                                        "summary": result.summary}}},
                     "results": results})
    return {"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": runs}
