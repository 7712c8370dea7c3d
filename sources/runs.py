"""Materialise, check, discard: how a check run uses the project's sources.

For each source of a kind the check declares (`BaseCheck.source_kinds`), the run fetches the
source into a fresh workspace (`MLSEC_SOURCE_WORKSPACE_DIR`, one directory per run and source),
runs the check there with the workspace as its only readable root, names what it found relative
to the source (`repo:src/settings.py:2`, `s3://bucket/models/a.pkl`, `mlflow:fraud/3/model.pkl`),
records the exact revision, and deletes the workspace, whatever happened. A source that cannot be
fetched makes that part `error` with a sentence naming it; several sources combine with the
precedence failed > error > passed.

A project whose `check_targets` were never turned into sources (created directly in the database,
e.g. by the demo) is checked from those targets as before.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from checks.runners.base import CheckResult, CheckTargets, CheckTimedOut, Finding

from .choices import REMOTE_KINDS, SourceKind
from .fetch import FetchError, Limits, Materialised, materialise

log = logging.getLogger(__name__)
LINE = re.compile(r"^(.*?)(:\d+)?$")


@dataclass
class Part:
    source: object | None
    result: CheckResult
    revision: dict


def workspace_root() -> str:
    root = settings.MLSEC_SOURCE_WORKSPACE_DIR or os.path.join(tempfile.gettempdir(), "mlsec-workspaces")
    os.makedirs(root, mode=0o700, exist_ok=True)
    return root


def project_sources(project, check_class) -> list:
    kinds = set(getattr(check_class, "source_kinds", ("path",)))
    return [s for s in project.sources.all() if s.kind in kinds]


def uses_legacy_targets(project) -> bool:
    """The project's `check_targets` field still counts (no source was made from it)."""
    return bool(project.check_targets) and not any(s.from_check_targets for s in project.sources.all())


def targets_of(source) -> CheckTargets:
    c = source.config or {}
    if source.kind == SourceKind.ENDPOINT:
        return CheckTargets(endpoint_url=c.get("url", ""))
    return CheckTargets(source_path=c.get("path", ""), dependency_files=list(c.get("dependency_files") or []),
                        model_artifacts=list(c.get("model_artifacts") or []), datasets=list(c.get("datasets") or []))


def may_apply(project, check_class) -> bool:
    """Whether queueing the check can find something to check (remote sources: yes until fetched)."""
    from checks.context import targets_for

    check = check_class()
    sources = project_sources(project, check_class)
    legacy = uses_legacy_targets(project)
    if check.applies(targets_for(project) if legacy else CheckTargets()):
        return True
    for source in sources:
        if source.kind in REMOTE_KINDS or check.applies(targets_of(source)):
            return True
    return False


def execute(project, key: str, *, baseline=..., run_id: int | None = None) -> CheckResult:
    """Run check `key` over every source of `project` it reads; never raises."""
    from checks.context import context_for
    from checks.registry import get_check, registry
    from checks.runners import run_check

    check_class = get_check(key)
    sources = project_sources(project, check_class)
    parts: list[Part] = []
    if uses_legacy_targets(project) or not sources:
        context = context_for(project, key)
        if not uses_legacy_targets(project):
            context.targets = CheckTargets()
        if baseline is not ...:
            context.baseline = baseline
        parts.append(Part(None, run_check(key, context, registry=registry()), {}))
    for source in sources:
        context = context_for(project, key)
        if baseline is not ...:
            context.baseline = baseline
        if source.kind in REMOTE_KINDS:
            parts.append(_run_remote(source, key, context, run_id))
        else:
            context.targets = targets_of(source)
            parts.append(Part(source, run_check(key, context, registry=registry()), {}))
    return combine(parts)


def _run_remote(source, key: str, context, run_id: int | None) -> Part:
    from checks.registry import registry
    from checks.runners import run_check

    from .services import source_record_status

    workspace = tempfile.mkdtemp(prefix=f"run-{run_id or 'x'}-{source.pk}-", dir=workspace_root())
    try:
        try:
            fetched = materialise(source, workspace, Limits.from_settings())
        except FetchError as exc:
            source_record_status(source, False, str(exc))
            return Part(source, CheckResult("error", str(exc)), {})
        except (SoftTimeLimitExceeded, CheckTimedOut):
            raise  # the task records the time limit; the workspace is still removed (finally)
        except Exception as exc:  # noqa: BLE001 - a fetch that crashed must never look like a pass
            log.warning("fetching source %s crashed: %s", source.pk, type(exc).__name__)
            message = f"Fetching {source.describe()} failed ({type(exc).__name__}); the check could not decide."
            source_record_status(source, False, message)
            return Part(source, CheckResult("error", message), {})
        source_record_status(source, True, "fetched", revision=fetched.revision)
        context.targets = fetched.targets()
        context.allowed_roots = [os.path.realpath(workspace)]
        if context.baseline is not None:
            context.baseline = local_baseline(fetched, context.baseline)
        result = run_check(key, context, registry=registry())
        relabel(result, fetched, workspace)
        return Part(source, result, fetched.revision)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def local_baseline(fetched: Materialised, baseline: dict) -> dict:
    """The part of a project's baseline that belongs to this source, keyed as the check sees it."""
    by_label = {f.label: f.path for f in fetched.files}
    local = {}
    for label, digest in baseline.items():
        if label in by_label:
            local[by_label[label]] = digest
        else:
            for label_prefix, local_prefix in fetched.prefixes:
                if label.startswith(label_prefix):
                    local[local_prefix + label[len(label_prefix):].lstrip("/")] = digest
    return local


def relabel(result: CheckResult, fetched: Materialised, workspace: str) -> None:
    """Findings and data name paths relative to the source, never a worker path."""
    labels = {f.path: f.label for f in fetched.files}
    real_root, real_ws = os.path.realpath(fetched.root), os.path.realpath(workspace)

    def text(value: str) -> str:
        for root in {fetched.root, real_root}:
            value = value.replace(root + os.sep, fetched.prefixes[0][0] if fetched.prefixes else "")
        for ws in {workspace, real_ws}:
            value = value.replace(ws, "[workspace]")
        return value

    def label(value: str) -> str:
        head, line = LINE.match(value).groups()
        return labels[head] + (line or "") if head in labels else value

    findings = []
    for f in result.findings:
        ref, title, detail = f.ref, f.title, f.detail
        head = LINE.match(ref).group(1) if ref else ""
        if head in labels:
            ref = label(ref)
            title, detail = title.replace(head, labels[head]), detail.replace(head, labels[head])
        findings.append(Finding(f.severity, text(title), text(detail), text(ref)))
    result.findings = findings
    result.summary = text(result.summary)

    def walk(value):
        if isinstance(value, dict):
            return {label(k) if isinstance(k, str) else k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return text(label(value))
        return value

    result.data = walk(result.data or {})
    result.data["artifact_versions"] = {
        f.label: (f.revision.get("version_id") or f.revision.get("etag") or f.revision.get("commit")
                  or f.revision.get("version") or "")
        for f in fetched.files if f.label in (result.data.get("artifacts") or {})}


def combine(parts: list[Part]) -> CheckResult:
    """One run's result from its parts (one per source): failed > error > passed; skipped if all are."""
    decided = [p for p in parts if p.result.status != "skipped"]
    described = [{"source": p.source.pk if p.source else None, "name": p.source.name if p.source else "check targets",
                  "kind": p.source.kind if p.source else "path", "location": p.source.location if p.source else "",
                  "revision": p.revision, "status": p.result.status, "summary": p.result.summary[:300]}
                 for p in parts]
    if not decided:
        result = CheckResult("skipped", "no target configured for this check")
        result.data = {"sources": described}
        return result
    statuses = {p.result.status for p in decided}
    status = "failed" if "failed" in statuses else "error" if "error" in statuses else "passed"
    if len(decided) == 1:
        summary = decided[0].result.summary
    else:
        summary = "; ".join(f"{d['name']}: {d['summary']}" for d in described if d["status"] != "skipped")
    findings = [f for p in decided for f in p.result.findings]
    data: dict = {}
    for p in decided:
        for k, v in (p.result.data or {}).items():
            if isinstance(v, dict) and isinstance(data.get(k), dict):
                data[k] = {**data[k], **v}
            elif isinstance(v, list) and isinstance(data.get(k), list):
                data[k] = data[k] + v
            elif isinstance(v, int | float) and not isinstance(v, bool) and isinstance(data.get(k), int | float):
                data[k] = data[k] + v
            else:
                data.setdefault(k, v)
    if "baseline_recorded" in data:
        data["baseline_recorded"] = all((p.result.data or {}).get("baseline_recorded") for p in decided)
    data["sources"] = described
    return CheckResult(status, summary, findings, data)


def primary(data: dict) -> tuple[int | None, dict]:
    """The run's `source` and `revision` in the API: its one fetched source, or all of them."""
    remote = [d for d in (data or {}).get("sources", []) if d.get("source") and d.get("revision")]
    if len(remote) == 1:
        return remote[0]["source"], remote[0]["revision"]
    if remote:
        return None, {"sources": [{"source": d["source"], "revision": d["revision"]} for d in remote]}
    return None, {}


def name_versions(result: CheckResult, approved: dict) -> None:
    """`model-integrity` over fetched sources: a changed artifact names the approved and the current
    version (S3 version id or ETag, commit, MLflow version) besides the digests."""
    current = (result.data or {}).get("artifact_versions") or {}
    findings = []
    for f in result.findings:
        key = f.ref
        if f.title.startswith("artifact changed") and (approved.get(key) or current.get(key)):
            f = Finding(f.severity, f.title, f"{f.detail}; approved version {approved.get(key) or 'unknown'}, "
                        f"now version {current.get(key) or 'unknown'}", f.ref)
        findings.append(f)
    result.findings = findings


def guard_first_baseline(project, result: CheckResult) -> CheckResult:
    """A first `model-integrity` run never approves artifacts that `model-serialization` fails on."""
    from checks.models import CheckRun

    if not (result.data or {}).get("baseline_recorded"):
        return result
    verdict = (CheckRun.objects.filter(project=project, definition_id="model-serialization",
                                       status__in=("passed", "failed"), superseded_at__isnull=True)
               .values_list("status", flat=True).first())
    if verdict != "failed":
        return result
    data = dict(result.data)
    data["baseline_recorded"] = False
    return CheckResult("error", "baseline not recorded: model-serialization fails on this project's models; fix "
                       "them (or approve the baseline explicitly) first", result.findings, data)


def lift_refusal(failed: dict, passed: dict) -> str | None:
    """Why a passing run may not lift a failing verdict (None: it may).

    A failure found on a registered source is lifted only by a pass over that same source at the
    same location: removing the source, or pointing it elsewhere, lifts nothing by itself.
    """
    now = {d["source"]: d for d in (passed or {}).get("sources", []) if d.get("source")}
    for part in (failed or {}).get("sources", []):
        if not part.get("source") or part.get("status") != "failed":
            continue
        again = now.get(part["source"])
        if again is None or ("location" in part and again.get("location") != part["location"]):
            return (f"the failing verdict stands: the {part.get('kind')} source '{part.get('name')}' it failed on was "
                    "removed or now points elsewhere; a passing run over it lifts the verdict")
    return None
