"""Rescan model artifacts after the scanners or the allow-list policy changed, and say what changed.

Every ``model-serialization`` verdict records the versions it depends on (``data["scanners"]``: the
allow-list policy, our parsers, picklescan, modelscan, fickling, h5py, onnx, gguf, protobuf,
model-signing). :func:`rescan_after_upgrade` finds the *current* verdict of each target whose
recorded versions differ from the installed ones, runs the check again, and reports every file whose
verdict changed. The targets (:func:`current_targets`) are:

* each **current model version** of the inventory (the newest version of every model asset of an
  active project whose source still exists, `sources.models.AssetVersion`), with the run its
  ``model-serialization`` verdict names: it is rescanned by fetching that exact version again
  (:func:`sources.assets.version_scan`). Older, superseded versions are never rescanned, whatever
  their recorded scanner versions: they are not what the project ships;
* the **latest finished run of each active project** that is not such a version's scan, i.e. the
  project's own ``model_artifacts`` and sources (projects without an inventory, or whose last
  project-wide run came after the versions' scans): rescanned as a project run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from audit.services import audit_record

from .choices import FINISHED_STATUSES, RunStatus, Trigger
from .models import CheckRun

log = logging.getLogger(__name__)
CHECK = "model-serialization"


@dataclass(frozen=True)
class RescanTarget:
    project: object
    previous: CheckRun | None  # the current verdict of this target (None: a version scanned without a run)
    version: object | None = None  # an AssetVersion: rescan that version, not the project

    @property
    def recorded(self) -> dict:
        return (self.previous.data.get("scanners") if self.previous is not None else None) or {}


@dataclass
class RescanReport:
    rescanned: list[int] = field(default_factory=list)  # new run ids
    unchanged_versions: int = 0
    changes: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"rescanned": len(self.rescanned), "runs": self.rescanned,
                "up_to_date": self.unchanged_versions, "changes": self.changes}


def installed_versions() -> dict[str, str]:
    from .runners.artifact_scan import scan_versions

    return scan_versions()


def version_changes(recorded: dict, installed: dict) -> dict[str, list]:
    return {name: [recorded.get(name), version] for name, version in sorted(installed.items())
            if recorded.get(name) != version}


def version_targets() -> list[RescanTarget]:
    """The current version of every model asset of the active projects, with the run of its verdict
    (three queries: versions, their runs, nothing per version)."""
    from sources.choices import REMOTE_KINDS, AssetKind
    from sources.models import AssetVersion

    newest: dict[int, AssetVersion] = {}
    for version in (AssetVersion.objects.filter(asset__kind=AssetKind.MODEL, asset__source__kind__in=REMOTE_KINDS,
                                                asset__project__archived_at__isnull=True)
                    .select_related("asset__source", "asset__project__team").order_by("asset_id", "-created_at", "-pk")):
        newest.setdefault(version.asset_id, version)
    run_ids = {_verdict_run(v) for v in newest.values()} - {None}
    runs = CheckRun.objects.in_bulk(run_ids)
    return [RescanTarget(v.asset.project, runs.get(_verdict_run(v)), v) for v in newest.values()]


def _verdict_run(version) -> int | None:
    run = ((version.verdicts or {}).get(CHECK) or {}).get("run")
    return run if isinstance(run, int) else None


def current_targets() -> Iterable[RescanTarget]:
    """Every current model version, then the latest finished model-serialization run of every active
    project that is not the scan of a version (the project's own artifacts and sources)."""
    from sources.models import AssetVersion

    versions = version_targets()
    yield from versions
    scans = {t.previous.pk for t in versions if t.previous is not None}
    scans |= {run for verdicts in AssetVersion.objects.filter(verdicts__has_key=CHECK).values_list("verdicts", flat=True)
              .iterator(chunk_size=2000) if isinstance(run := (verdicts.get(CHECK) or {}).get("run"), int)}
    latest = (CheckRun.objects.latest_per_check()
              .filter(definition_id=CHECK, status__in=FINISHED_STATUSES, project__archived_at__isnull=True)
              .exclude(status=RunStatus.SKIPPED)
              .select_related("project__team"))
    for run in latest.iterator(chunk_size=200):
        if run.pk not in scans:
            yield RescanTarget(run.project, run)


def rescan_after_upgrade(*, targets: Callable[[], Iterable[RescanTarget]] = current_targets,
                         installed: dict[str, str] | None = None) -> RescanReport:
    """Rescan the targets whose verdict was made with other versions; report changed verdicts."""
    from . import services

    installed = installed or installed_versions()
    report = RescanReport()
    for target in targets():
        bumped = version_changes(target.recorded, installed)
        if not bumped:
            report.unchanged_versions += 1
            continue
        if (target.project.check_opt_outs or {}).get(CHECK):
            continue
        if target.version is not None:
            _rescan_version(target, bumped, report)
            continue
        try:  # created here, not enqueued: this task runs it and compares (no worker races for it)
            with transaction.atomic():
                run = CheckRun.objects.create(project=target.project, definition_id=CHECK, trigger=Trigger.RESCAN)
        except IntegrityError:
            log.info("project %s: a model-serialization run is already active; not rescanned", target.project.pk)
            continue
        run = services.run_now(run)
        report.rescanned.append(run.pk)
        change = _compare(target.previous, run, bumped)
        if change:
            report.changes.append(change)
    with transaction.atomic():
        audit_record(actor=None, action="checks.rescan", object_type="checks.checkdefinition", object_id=CHECK,
                     object_repr=CHECK, after={"rescanned": len(report.rescanned),
                                               "changed": len(report.changes), "installed": installed})
    log.info("model rescan: %s rescanned, %s changed", len(report.rescanned), len(report.changes))
    return report


def _rescan_version(target: RescanTarget, bumped: dict, report: RescanReport) -> None:
    """Fetch and scan the version again (a `rescan` run); compare with the verdict it had."""
    from sources.assets import version_scan

    version = target.version
    before = dict((version.verdicts or {}).get(CHECK) or {})
    version = version_scan(version, trigger=Trigger.RESCAN)
    run_id = _verdict_run(version)
    if run_id is None:  # a project run was active, so no run could be recorded: the verdict is on the version
        log.info("asset version %s: rescanned without a run (a model-serialization run was active)", version.pk)
        return
    run = CheckRun.objects.select_related("project").get(pk=run_id)
    report.rescanned.append(run.pk)
    change = _compare(target.previous, run, bumped, before_status=before.get("status"))
    if change:
        change.update({"asset": version.asset_id, "asset_name": version.asset.name, "version": version.version})
        report.changes.append(change)


def _compare(old: CheckRun | None, new: CheckRun, bumped: dict, before_status: str | None = None) -> dict | None:
    old_files = (old.data.get("files") or {}) if old is not None else {}
    before = {name: info.get("verdict") for name, info in old_files.items()}
    after = {name: info.get("verdict") for name, info in (new.data.get("files") or {}).items()}
    files = {name: [before.get(name), after.get(name)] for name in sorted(set(before) | set(after))
             if before.get(name) != after.get(name)}
    old_status = old.status if old is not None else before_status
    if not files and old_status == new.status:
        return None
    return {"project": new.project_id, "project_name": str(new.project), "previous_run": old.pk if old else None,
            "run": new.pk, "status": [old_status, new.status], "files": files, "versions": bumped}
