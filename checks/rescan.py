"""Rescan model artifacts after the scanners or the allow-list policy changed, and say what changed.

Every ``model-serialization`` verdict records the versions it depends on (``data["scanners"]``: the
allow-list policy, our parsers, picklescan, modelscan, fickling, h5py, onnx, gguf, protobuf,
model-signing). :func:`rescan_after_upgrade` finds the *current* verdict of each target — today the
latest finished run per active project, i.e. the project's configured ``model_artifacts``; with the
asset inventory it will be each current model version — whose recorded versions differ from the
installed ones, runs the check again, and reports every file whose verdict changed.

The targets come from a provider (:func:`current_targets`), so pointing the rescan at asset versions
is a matter of another provider yielding the same :class:`RescanTarget`.
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
    previous: CheckRun  # the current verdict of this target


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


def current_targets() -> Iterable[RescanTarget]:
    """The latest finished model-serialization run of every active project that has model artifacts."""
    latest = (CheckRun.objects.latest_per_check()
              .filter(definition_id=CHECK, status__in=FINISHED_STATUSES, project__archived_at__isnull=True)
              .exclude(status=RunStatus.SKIPPED)
              .select_related("project__team"))
    for run in latest.iterator(chunk_size=200):
        yield RescanTarget(run.project, run)


def rescan_after_upgrade(*, targets: Callable[[], Iterable[RescanTarget]] = current_targets,
                         installed: dict[str, str] | None = None) -> RescanReport:
    """Rescan the targets whose verdict was made with other versions; report changed verdicts."""
    from . import services

    installed = installed or installed_versions()
    report = RescanReport()
    for target in targets():
        bumped = version_changes(target.previous.data.get("scanners") or {}, installed)
        if not bumped:
            report.unchanged_versions += 1
            continue
        if (target.project.check_opt_outs or {}).get(CHECK):
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


def _compare(old: CheckRun, new: CheckRun, bumped: dict) -> dict | None:
    before = {name: info.get("verdict") for name, info in (old.data.get("files") or {}).items()}
    after = {name: info.get("verdict") for name, info in (new.data.get("files") or {}).items()}
    files = {name: [before.get(name), after.get(name)] for name in sorted(set(before) | set(after))
             if before.get(name) != after.get(name)}
    if not files and old.status == new.status:
        return None
    return {"project": new.project_id, "project_name": str(new.project), "previous_run": old.pk, "run": new.pk,
            "status": [old.status, new.status], "files": files, "versions": bumped}
