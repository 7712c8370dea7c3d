"""Pipeline results from upload to findings: validate in the request, store encrypted, process on a worker.

`results_receive` reads the whole report once with the same parser the worker uses (streaming, no
database writes), so a malformed report is a 400 that changes nothing; a valid one is stored
encrypted (with its SHA-256) and queued. `results_process` turns it into findings de-duplicated
by fingerprint per project, tool and branch, closes those the tool no longer reports, and records
one run of each check the report feeds, finished like a worker's run (`checks.services.finish_run`)
so practices are capped or verified the same way.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from checks.choices import RunStatus, Trigger
from checks.models import CheckDefinition, CheckRun
from checks.runners.base import CheckResult, Finding
from evidence import storage

from .choices import (
    IMPORTED_CHECKS,
    IMPORTED_SCHEDULE,
    SEVERITY_RANK,
    FindingStatus,
    Origin,
    ReportFormat,
    UploadStatus,
)
from .findings import record_findings
from .models import IngestToken, ResultUpload
from .parsers import PARSERS, ParseOptions, ReportError
from .uploads import max_result_bytes

COMMIT = re.compile(r"^[0-9a-fA-F]{7,64}$")
FAILING_RANK = SEVERITY_RANK["medium"]  # a run with a finding at medium or above has failed
RUN_FINDINGS = 500


class CheckBusy(Exception):  # noqa: N818 - a state: the check is running on the project right now
    """A run of the check is active on the project; the upload is processed again shortly."""


def can_push_results(user, project) -> bool:
    return bool(user.is_active and project.can_run_checks(user))


def known_checks() -> set[str]:
    from checks.registry import check_keys

    return set(check_keys()) | set(IMPORTED_CHECKS)


def _validate_fields(fmt: str, commit: str, branch: str, build_id: str, tool: str, source: str, artifact: str) -> None:
    errors = {}
    if fmt not in ReportFormat.values:
        errors["format"] = [f"Choose one of: {', '.join(ReportFormat.values)}."]
    if commit and not COMMIT.match(commit):
        errors["commit"] = ["A commit is 7 to 64 hexadecimal characters."]
    for name, value, limit in (("branch", branch, 255), ("build_id", build_id, 255), ("tool", tool, 120),
                               ("source", source, 200), ("artifact", artifact, 400)):
        if len(value) > limit:
            errors[name] = [f"At most {limit} characters."]
    if errors:
        raise ValidationError(errors)


def _validate_report(fmt: str, opener, options: ParseOptions) -> tuple[int, str]:
    """Read the whole report as the worker will (no advisories, no writes): (results, tool version)."""
    try:
        report = PARSERS[fmt](opener, options, known_checks())
        return sum(1 for _ in report.findings), report.tool_version
    except ReportError as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    except (TypeError, ValueError, AttributeError, KeyError):
        # A field of the wrong type (a list where the format has a string, a number where it has a list):
        # the parsers check the shapes they know; anything they did not foresee is still a bad report.
        raise ValidationError({"file": [f"The {fmt} report has a field of the wrong type or shape."]}) from None


def results_receive(*, user, token, project, upload, fmt: str, tool: str = "", commit: str = "", branch: str = "",
                    build_id: str = "", source: str = "", artifact: str = "") -> ResultUpload:
    """Check, store and queue one report; returns the upload (status `queued`)."""
    if token is not None:
        if token.project_id != project.pk:
            raise PermissionDenied("This ingest token belongs to another project.")
    elif not can_push_results(user, project):
        raise PermissionDenied("Only the project's team, a security officer or an administrator push results.")
    if project.archived_at:
        raise ValidationError("An archived project takes no results.")
    _validate_fields(fmt, commit, branch, build_id, tool, source, artifact)
    if upload is None:
        raise ValidationError({"file": ["Attach the report as `file`."]})
    if upload.size > max_result_bytes():
        raise ValidationError({"file": [f"Reports are limited to {settings.MLSEC_MAX_RESULTS_MB} MB."]})
    if not upload.size:
        raise ValidationError({"file": ["The file is empty."]})

    def opener():
        upload.seek(0)
        return _Unclosed(upload)

    options = ParseOptions(tool=tool, artifact=artifact, validate_only=True)
    results, version = _validate_report(fmt, opener, options)
    writer = storage.EncryptedWriter(subdir="pipeline-results")
    try:
        upload.seek(0)
        shutil.copyfileobj(upload, writer, 1 << 20)
        writer.close()
        return _record_upload(user=user, token=token, project=project, fmt=fmt, tool=tool, commit=commit.lower(),
                              branch=branch, build_id=build_id, source=source, artifact=artifact, results=results,
                              version=version, writer=writer)
    except BaseException:
        writer.discard()
        raise


@transaction.atomic
def _record_upload(*, user, token, project, fmt, tool, commit, branch, build_id, source, artifact, results, version,
                   writer) -> ResultUpload:
    person = None if token is not None else user
    identity = "" if token is None else token.ci_identity if isinstance(token, IngestToken) else token.name
    item = ResultUpload.objects.create(
        project=project, format=fmt, tool=tool, tool_version=version, commit=commit, branch=branch, build_id=build_id,
        source_ref=source, origin=Origin.PIPELINE if token is not None else Origin.PERSON,
        token=token if isinstance(token, IngestToken) else None, ci_identity=identity,
        uploaded_by=person, storage_name=writer.storage_name, sha256=writer.sha256, size=writer.size, results=results,
        artifact=artifact[:400])
    audit_record(actor=person, action="ingest.results_upload", obj=item, after={
        "project": project.pk, "format": fmt, "commit": commit, "branch": branch, "build_id": build_id,
        "sha256": writer.sha256, "size": writer.size, "results": results,
        "token": token.name if token is not None else None})
    transaction.on_commit(lambda: _enqueue(item.pk))
    return item


def _enqueue(upload_id: int) -> None:
    from .tasks import process_results_task

    process_results_task.apply_async(args=[upload_id], queue="checks")


class _Unclosed:
    """The uploaded file for one parser pass: the parser's `with` must not close the upload itself."""

    def __init__(self, fh):
        self._fh = fh

    def read(self, *args):
        return self._fh.read(*args)

    def readline(self, *args):
        return self._fh.readline(*args)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --- processing (worker) ------------------------------------------------------------------------

def results_process(upload_id: int) -> ResultUpload | None:
    """On a worker: decrypt to a private temporary file, parse, record. A parser error fails the upload."""
    claimed = ResultUpload.objects.filter(pk=upload_id, status__in=(UploadStatus.QUEUED, UploadStatus.PROCESSING)).update(
        status=UploadStatus.PROCESSING)
    if not claimed:
        return None
    item = ResultUpload.objects.select_related("project__team", "uploaded_by").get(pk=upload_id)
    with tempfile.TemporaryFile() as plain:
        for frame in storage.iter_decrypted(item.storage_name):
            plain.write(frame)

        def opener():
            plain.seek(0)
            return _Unclosed(plain)

        try:
            return _record_results(item, opener)
        except ReportError as exc:  # the stored report changed since validation: it cannot decide anything
            return results_fail(upload_id, f"the report could not be read: {exc}")


@transaction.atomic
def _record_results(item: ResultUpload, opener) -> ResultUpload:
    from checks.advisories import DatabaseAdvisorySource

    options = ParseOptions(tool=item.tool, artifact=item.artifact, advisories=DatabaseAdvisorySource())
    if item.format == ReportFormat.IN_TOTO:
        options.trusted_keys, options.signature_required = trusted_keys(item.project)
    report = PARSERS[item.format](opener, options, known_checks())
    if report.empty:
        # Nothing was scanned: it records no run (a passed run would verify practices), closes no finding
        # (an empty SBOM is no fix), and the gate does not take it for a scan.
        item.status, item.finished_at, item.detail = UploadStatus.EMPTY, timezone.now(), f"empty report: {report.empty}"
        item.tool = item.tool or ", ".join(sorted(report.tools))[:120]
        item.tool_version = item.tool_version or report.tool_version
        item.save(update_fields=["status", "finished_at", "detail", "tool", "tool_version"])
        return item
    for key in set(report.tools.values()):
        _ensure_definition(key)
    item.tool = item.tool or ", ".join(sorted(report.tools))[:120]
    outcome = record_findings(item, report)
    runs = [_record_run(item, key, outcome, report) for key in sorted(set(report.tools.values()))]
    item.check_runs.set(runs)
    item.status, item.finished_at = UploadStatus.DONE, timezone.now()
    item.tool_version = item.tool_version or report.tool_version
    item.findings_new, item.findings_closed = outcome.new, outcome.closed
    item.severity_counts, item.assets = dict(outcome.severities), link_assets(item.project, report.assets[:1000])
    signatures = report.data.get("signatures")
    if signatures is not None:
        signers = report.data.get("signers") or []
        item.detail = (f"DSSE signatures: {signatures['verified']} verified"
                       f"{' (by ' + ', '.join(signers) + ')' if signers else ''}, {signatures['unverified']} not "
                       f"verified by a trusted key, {signatures['unsigned']} unsigned")[:2000]
    item.save(update_fields=["status", "finished_at", "tool", "tool_version", "findings_new", "findings_closed",
                             "severity_counts", "assets", "detail"])
    return item


def trusted_keys(project) -> tuple[list, bool]:
    """The public keys (name, key) of the project's signing policy that can verify a DSSE envelope, and whether
    the policy requires signatures. Certificate signers are not used: a DSSE envelope carries no certificate."""
    from cryptography.hazmat.primitives import serialization

    from checks.models import SigningPolicy

    policy = SigningPolicy.objects.filter(project=project).prefetch_related("signers").first()
    if policy is None:
        return [], False
    keys = []
    for signer in policy.signers.all():
        if signer.kind == "key":
            try:
                keys.append((signer.name, serialization.load_pem_public_key(signer.material.strip().encode())))
            except ValueError:
                continue
    return keys, policy.required


SHA256 = re.compile(r"^(?:sha256|sha-256):([0-9a-f]{64})$")
LINKS_PER_ASSET = 5


def link_assets(project, assets: list[dict]) -> list[dict]:
    """Each named model, data set or attested subject, with `links`: the project's asset versions (from its
    sources) whose SHA-256 is the one the report gives (one query). No digest, another algorithm or no
    such version: `links` is empty and nothing is made (the report's word is not an inventory)."""
    from sources.models import AssetVersion

    wanted = {}
    for entry in assets:
        match = SHA256.match(str(entry.get("digest") or "").strip().lower())
        if match:
            wanted.setdefault(match.group(1), []).append(entry)
    found: dict[str, list[dict]] = {}
    if wanted:
        versions = (AssetVersion.objects.filter(asset__project=project, sha256__in=list(wanted))
                    .order_by("pk").values("pk", "sha256", "version", "asset_id", "asset__name", "asset__kind"))
        for row in versions:
            found.setdefault(row["sha256"], []).append({
                "asset": row["asset_id"], "asset_version": row["pk"], "name": row["asset__name"],
                "kind": row["asset__kind"], "version": row["version"]})
    linked = []
    for entry in assets:
        match = SHA256.match(str(entry.get("digest") or "").strip().lower())
        linked.append({**entry, "links": found.get(match.group(1), [])[:LINKS_PER_ASSET] if match else []})
    return linked


def _ensure_definition(key: str) -> None:
    if key not in IMPORTED_CHECKS or CheckDefinition.objects.filter(key=key).exists():
        return
    from controls.models import Practice

    title, practices, description = IMPORTED_CHECKS[key]
    definition, _ = CheckDefinition.objects.get_or_create(key=key, defaults={
        "title": title, "description": description, "timeout_s": 0, "default_schedule": IMPORTED_SCHEDULE})
    definition.practices.set(Practice.objects.filter(code__in=practices))


def _record_run(item: ResultUpload, key: str, outcome, report) -> CheckRun:
    from checks.services import finish_run

    now = timezone.now()
    trigger = Trigger.PIPELINE if item.origin == Origin.PIPELINE else Trigger.UPLOAD
    try:
        with transaction.atomic():
            run = CheckRun.objects.create(project=item.project, definition_id=key, status=RunStatus.RUNNING,
                                          trigger=trigger, requested_by=item.uploaded_by, started_at=now,
                                          worker=f"ingest upload #{item.pk}")
    except IntegrityError:
        raise CheckBusy(key) from None
    counts: Counter = outcome.by_check.get(key, Counter())
    failing = sum(n for severity, n in counts.items() if SEVERITY_RANK[severity] >= FAILING_RANK)
    undecided = report.undecided.get(key)
    status = "failed" if failing else "error" if undecided else "passed"
    total = sum(counts.values())
    tools = ", ".join(sorted(t for t, check in report.tools.items() if check == key)) or item.tool or "the report"
    summary = (f"{item.get_origin_display()}: {total} finding(s) from {tools}"
               f"{' at commit ' + item.commit[:12] if item.commit else ''}, {failing} at medium or above")
    if undecided:
        summary += f"; could not decide: {undecided}"
    rows = (item.project.pipeline_findings.filter(definition_id=key, last_upload=item, status=FindingStatus.OPEN)
            .order_by("-pk").values("severity", "title", "detail", "ref")[:RUN_FINDINGS])
    findings = sorted((Finding(**row) for row in rows), key=lambda f: (-SEVERITY_RANK[f.severity], f.title))
    data = {"upload": item.pk, "origin": item.origin, "format": item.format, "tool": item.tool,
            "tool_version": report.tool_version, "commit": item.commit, "branch": item.branch,
            "build_id": item.build_id, "source": item.source_ref, "counts": dict(counts), **report.data}
    return finish_run(run, CheckResult(status, summary, findings, data))


def results_fail(upload_id: int, detail: str) -> ResultUpload | None:
    ResultUpload.objects.filter(pk=upload_id, status__in=(UploadStatus.QUEUED, UploadStatus.PROCESSING)).update(
        status=UploadStatus.FAILED, detail=detail[:2000], finished_at=timezone.now())
    return ResultUpload.objects.filter(pk=upload_id).first()
