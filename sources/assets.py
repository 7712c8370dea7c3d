"""The inventory: models and datasets of a project, their versions, and the scans of new versions.

Service API (for the ML-BOM export, pipeline ingest and rescans built on it):

* :func:`asset_versions_current(project)` — the newest version of each asset (one query).
* :func:`source_sync(source)` — list the source (MLflow model versions, S3 objects, the files at
  the Git ref), add what is new to the inventory and scan each new model version; returns the new
  :class:`AssetVersion` rows.
* :func:`project_sync(project)` — :func:`source_sync` for each remote source (what the beat
  schedule and "Sync now" run); :func:`project_sync_request` queues it for a person.
* :func:`version_scan(version, trigger)` — fetch one version into a workspace, run `model-serialization`
  on it (a check run the project's verdict counts), record the verdict on the version, and add
  its digests to the integrity baseline only when the scan passed. A version that fails is never
  baselined.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from audit.services import audit_record

from .choices import DATASET_SUFFIXES, MODEL_SUFFIXES, REMOTE_KINDS, AssetKind, SourceKind
from .fetch import FetchedFile, FetchError, Limits, Materialised
from .models import Asset, AssetVersion, Source

log = logging.getLogger(__name__)


def asset_versions_current(project):
    """The newest version of each of the project's assets, with its asset and source."""
    newest = {}
    for version in (AssetVersion.objects.filter(asset__project=project).select_related("asset__source")
                    .order_by("asset_id", "-created_at", "-pk")):
        newest.setdefault(version.asset_id, version)
    return list(newest.values())


def detect_format(path: str) -> str:
    """The model or data format the bytes say (never the file name)."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"GGUF"):
        return "gguf"
    if head.startswith(b"\x89HDF"):
        return "hdf5"
    if head.startswith(b"\x93NUMPY"):
        return "numpy"
    if head.startswith(b"PAR1"):
        return "parquet"
    if len(head) > 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000:
        return "safetensors"
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "binary"


def _digest(files: list[tuple[str, str]]) -> str:
    """SHA-256 of a one-file version, or of its files' sorted `name digest` lines."""
    from checks.runners.paths import sha256_file

    digests = sorted((name, sha256_file(real)) for name, real in files)
    if len(digests) == 1:
        return digests[0][1]
    return hashlib.sha256("".join(f"{n} {d}\n" for n, d in digests).encode()).hexdigest()


# --- listing ------------------------------------------------------------------------------------

def _kind_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(MODEL_SUFFIXES):
        return AssetKind.MODEL
    if lower.endswith(DATASET_SUFFIXES):
        return AssetKind.DATASET
    return None


def _listed(source: Source, limits: Limits) -> list[dict]:
    """What the source holds now: `{name, kind, version, revision, stage, meta}` per asset version."""
    if source.kind == SourceKind.MLFLOW:
        from .fetch import mlflow

        found = []
        for name in source.config.get("models") or []:
            for v in mlflow.versions(source, limits, name):
                aliases = v.get("aliases") or []
                found.append({"name": name, "kind": AssetKind.MODEL, "version": str(v.get("version")),
                              "revision": {"model": name, "version": str(v.get("version")),
                                           "run_id": v.get("run_id") or "", "artifact_uri": v.get("source") or ""},
                              "stage": ", ".join(aliases) or str(v.get("current_stage") or ""), "meta": v})
        return found
    if source.kind == SourceKind.S3:
        from .fetch import s3

        client = s3._client(source, limits)
        found = []
        for item in s3._list(source, client, limits):
            kind = _kind_of(item["Key"])
            if kind is None:
                continue
            head = client.head_object(Bucket=source.config["bucket"], Key=item["Key"])
            version = head.get("VersionId")
            version = None if version in (None, "null") else version
            etag = str(head.get("ETag") or "").strip('"')
            found.append({"name": f"s3://{source.config['bucket']}/{item['Key']}", "kind": kind,
                          "version": version or etag, "revision": {"key": item["Key"], "version_id": version,
                                                                   "etag": etag},
                          "stage": "", "meta": item})
        return found
    return []


@transaction.atomic
def _record(source: Source, listed: dict) -> AssetVersion | None:
    asset, _ = Asset.objects.get_or_create(project_id=source.project_id, source=source, name=listed["name"][:300],
                                           defaults={"kind": listed["kind"]})
    if AssetVersion.objects.filter(asset=asset, version=listed["version"][:200]).exists():
        AssetVersion.objects.filter(asset=asset, version=listed["version"][:200]).update(stage=listed["stage"][:80])
        return None
    try:
        with transaction.atomic():
            return AssetVersion.objects.create(asset=asset, version=listed["version"][:200],
                                               revision=listed["revision"], stage=listed["stage"][:80],
                                               size=(listed["meta"] or {}).get("Size"))
    except IntegrityError:  # a concurrent sync recorded it first
        return None


def source_sync(source: Source) -> list[AssetVersion]:
    """Add the source's new model versions and objects to the inventory and scan each new model."""
    from .services import source_record_status

    limits = Limits.from_settings()
    try:
        listed = _listed(source, limits)
    except FetchError as exc:
        source_record_status(source, False, str(exc), synced=True)
        return []
    new = [v for v in (_record(source, item) for item in listed) if v is not None]
    source_record_status(source, True, f"synced: {len(listed)} version(s) listed, {len(new)} new", synced=True)
    for version in new:
        if version.asset.kind == AssetKind.MODEL:
            version_scan(version)
    return new


def project_sync(project) -> list[AssetVersion]:
    new = []
    for source in project.sources.filter(kind__in=REMOTE_KINDS).select_related("project__team"):
        new += source_sync_guarded(source)
    return new


def source_sync_guarded(source) -> list[AssetVersion]:
    """`source_sync`, but a source that fails in a way nobody foresaw (a hostile or broken server, a bucket
    that lists but refuses reads) is marked in error and the sync goes on to the next source, of any team."""
    from .services import source_record_status

    try:
        return source_sync(source)
    except OperationalError:
        raise  # the database, not the source: the task retries
    except Exception as exc:  # noqa: BLE001 - one source never stops the others
        log.warning("sync of source %s failed: %s", source.pk, type(exc).__name__)
        source_record_status(source, False, f"The sync of {source.describe()} failed ({type(exc).__name__}); "
                             "the portal could not read what it lists.")
        return []


@transaction.atomic(durable=True)
def project_sync_request(*, actor, project) -> list[int]:
    """"Sync now": queue the sync of the project's remote sources; returns their ids."""
    from .tasks import sync_project_task

    if not project.can_run_checks(actor):
        raise PermissionDenied("Only the team, a security officer or an administrator can sync this project.")
    ids = list(project.sources.filter(kind__in=REMOTE_KINDS).values_list("pk", flat=True))
    audit_record(actor=actor, action="sources.sync", obj=project, after={"sources": ids})
    transaction.on_commit(lambda: sync_project_task.delay(project.pk))
    return ids


# --- scanning one version -----------------------------------------------------------------------

def _materialise_version(version: AssetVersion, workspace: str, limits: Limits) -> Materialised:
    source = version.asset.source
    if source.kind == SourceKind.MLFLOW:
        from .fetch import mlflow

        root = os.path.join(workspace, "models")
        meta = {"name": version.revision.get("model"), "version": version.revision.get("version"),
                "run_id": version.revision.get("run_id"), "source": version.revision.get("artifact_uri")}
        files, revision = mlflow.fetch_version(source, meta, root, limits)
        prefix = f"mlflow:{revision['model']}/{revision['version']}/"
        return Materialised(source, root, revision, files, [(prefix, f"{mlflow._safe(revision['model'])}/"
                                                                      f"{revision['version']}/")])
    from .fetch import s3

    client = s3._client(source, limits)
    key, version_id = version.revision["key"], version.revision.get("version_id")
    root = os.path.join(workspace, "objects")
    rel = key.rsplit("/", 1)[-1] or "object"
    os.makedirs(root)
    try:
        args = {"Bucket": source.config["bucket"], "Key": key, **({"VersionId": version_id} if version_id else {})}
        answer = client.get_object(**args)
    except Exception as exc:  # noqa: BLE001
        raise s3._error(source, f"the object {key} could not be read", exc) from None
    with open(os.path.join(root, rel), "wb") as handle:
        written = 0
        for chunk in answer["Body"].iter_chunks(1024 * 1024):
            written += len(chunk)
            if written > limits.max_bytes:
                raise FetchError(f"{source.describe()}: the object {key} is larger than a check run downloads.")
            handle.write(chunk)
    label = f"s3://{source.config['bucket']}/{key}"
    return Materialised(source, root, {"objects": [version.revision]},
                        [FetchedFile(rel, label, written, version.revision)], [(label, rel)])


def version_scan(version: AssetVersion, trigger: str | None = None):
    """Scan one model version with `model-serialization` (as a check run) and baseline it if it passed.

    `trigger` is the run's trigger: the sync's schedule, or `rescan` (checks/rescan.py)."""
    from checks.choices import RunStatus, Trigger
    from checks.context import context_for
    from checks.models import CheckRun
    from checks.registry import registry
    from checks.runners import CheckResult, CheckTimedOut, run_check
    from checks.services import finish_run

    from .runs import Part, combine, relabel, workspace_root

    source, project = version.asset.source, version.asset.project
    workspace = tempfile.mkdtemp(prefix=f"sync-{version.pk}-", dir=workspace_root())
    digests: dict[str, str] = {}
    try:
        try:
            fetched = _materialise_version(version, workspace, Limits.from_settings())
            context = context_for(project, "model-serialization")
            context.targets, context.allowed_roots = fetched.targets(), [os.path.realpath(workspace)]
            try:
                result = run_check("model-serialization", context, registry=registry())
            except CheckTimedOut:  # the sync's time limit: this version could not be decided
                result = CheckResult("error", "time limit exceeded: the check could not decide")
            reals = [(f.label, os.path.join(fetched.root, f.path)) for f in fetched.files]
            version.sha256 = _digest(reals)
            version.size = sum(os.path.getsize(r) for _, r in reals)
            model_files = [r for n, r in reals if n.lower().endswith(MODEL_SUFFIXES)] or [r for _, r in reals]
            version.format = detect_format(model_files[0])
            if result.status == "passed":
                from checks.runners.paths import sha256_file

                digests = {label: sha256_file(real) for label, real in reals
                           if label.lower().endswith(MODEL_SUFFIXES)}
            relabel(result, fetched, workspace)
            revision = fetched.revision
        except FetchError as exc:
            result, revision = CheckResult("error", str(exc)), {}
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    result = combine([Part(source, result, revision)])
    run = None
    try:
        with transaction.atomic():
            run = CheckRun.objects.create(project=project, definition_id="model-serialization",
                                          trigger=trigger or Trigger.SCHEDULE, status=RunStatus.RUNNING,
                                          started_at=timezone.now())
    except IntegrityError:
        log.info("model-serialization already active on project %s; the sync's scan is recorded on the version",
                 project.pk)
    if run is not None:
        run = finish_run(run, result)
    version.verdicts = {**version.verdicts, "model-serialization": {
        "status": result.status, "run": run.pk if run else None, "summary": result.summary[:300]}}
    version.save(update_fields=["verdicts", "sha256", "size", "format"])
    if result.status == "passed" and digests:
        baseline_extend(project, digests, {label: version.version for label in digests}, run)
    return version


@transaction.atomic
def baseline_extend(project, digests: dict, versions: dict, run=None) -> None:
    """Add a scanned, clean model version's digests to the integrity baseline (audited)."""
    from checks.models import ArtifactBaseline

    baseline = ArtifactBaseline.objects.select_for_update().filter(project=project).first()
    if baseline is None:
        ArtifactBaseline.objects.create(project=project, artifacts=digests, versions=versions,
                                        approved_at=timezone.now(), source_run=run)
    else:
        baseline.artifacts = {**baseline.artifacts, **digests}
        baseline.versions = {**(baseline.versions or {}), **versions}
        baseline.save(update_fields=["artifacts", "versions"])
    audit_record(actor=None, action="baseline.extend", object_type="assessments.project", object_id=str(project.pk),
                 object_repr=str(project), after={"artifacts": sorted(digests), "run": run.pk if run else None})
