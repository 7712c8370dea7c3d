"""Requesting and building exports, and the signing key they are signed with."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import struct

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Team
from assessments.models import Project
from audit.services import audit_record
from evidence import storage

from .bundle import EvidenceMismatch, public_key_fingerprint, public_key_pem
from .dataset import EvidenceFiles, Scope, build_dataset
from .models import Report, ReportScope, ReportStatus
from .renderers.registry import format_keys, get_format

log = logging.getLogger(__name__)

TIME_LIMIT_S = 1800  # the build task's hard limit (reports/tasks.py)
RUNNING_TIMEOUT = dt.timedelta(seconds=TIME_LIMIT_S + 300)  # past the hard limit, with a margin
QUEUED_TIMEOUT = dt.timedelta(hours=6)


class ScopeLost(Exception):
    """The requester may no longer export the report's scope."""


def signing_key_pem() -> str:
    value = settings.MLSEC_SIGNING_KEY
    return value if "BEGIN" in value else open(value).read()  # noqa: SIM115 - a path to the PEM file


def signing_public_key() -> tuple[str, str]:
    """(PEM, fingerprint) of the key bundles are signed with: shown on the settings page."""
    pem = signing_key_pem()
    return public_key_pem(pem), public_key_fingerprint(pem)


def resolve_scope(*, user, scope: str, team: Team | None = None, project: Project | None = None) -> Scope:
    """Check that `user` may export this scope and describe it. Out of scope: the same error as missing."""
    if scope == ReportScope.ORG:
        if user is not None and not user.sees_everything:
            raise PermissionDenied("Only officers, auditors and administrators export the whole organisation.")
        return Scope("org", teams=list(Team.objects.order_by("name")))
    if scope == ReportScope.TEAM:
        if team is None:
            raise ValidationError({"team": ["Choose the team to export."]})
        if user is not None and not Team.objects.visible_to(user).filter(pk=team.pk).exists():
            raise ValidationError({"team": ["No such team."]})
        return Scope("team", team=team, teams=[team])
    if scope == ReportScope.PROJECT:
        if project is None:
            raise ValidationError({"project": ["Choose the project to export."]})
        if user is not None and not Project.objects.visible_to(user).filter(pk=project.pk).exists():
            raise ValidationError({"project": ["No such project."]})
        return Scope("project", project=project, teams=[project.team])
    raise ValidationError({"scope": ["Choose org, team or project."]})


def check_format_scope(format: str, scope: str) -> None:
    """The format exists and can be built for the scope (ValidationError on `format` if not)."""
    if format not in format_keys():
        raise ValidationError({"format": [f"Choose one of: {', '.join(format_keys())}."]})
    if get_format(format).project_only and scope != ReportScope.PROJECT:
        raise ValidationError({"format": [f"{get_format(format).label} describes one project: choose the project "
                                          "scope."]})


def report_request(*, actor, scope: str, format: str, team: Team | None = None, project: Project | None = None,
                   as_of: dt.date | None = None) -> Report:
    """Queue an export; a worker builds it. Answers at once."""
    check_format_scope(format, scope)
    if as_of is not None and as_of > timezone.localdate():
        raise ValidationError({"as_of": ["as_of cannot be in the future."]})
    resolve_scope(user=actor, scope=scope, team=team, project=project)
    with transaction.atomic(durable=True):
        report = Report.objects.create(requested_by=actor, scope=scope, format=format, as_of=as_of,
                                       team=team if scope == ReportScope.TEAM else None,
                                       project=project if scope == ReportScope.PROJECT else None)
        audit_record(actor=actor, action="report.request", obj=report,
                     after={"scope": scope, "team": team.slug if team else None,
                            "project": project.pk if project else None, "as_of": as_of, "format": format})
        transaction.on_commit(lambda: _enqueue(report))
    return report


def _enqueue(report: Report) -> None:
    from .tasks import build_report_task

    build_report_task.apply_async(args=[str(report.pk)], queue="reports")


def render(dataset: dict, fmt: str, out, files: EvidenceFiles | None = None) -> None:
    """Write one format of `dataset` to the binary stream `out` (the format's class renders it)."""
    try:
        export = get_format(fmt)()
    except KeyError:
        raise ValidationError({"format": ["Unknown format."]}) from None
    export.render(dataset, out, files=files if files is not None else {}, signing_key=signing_key_pem())


def dataset_for(report: Report, files: EvidenceFiles | None = None) -> dict:
    """The dataset of `report`, its scope checked again for the person who asked for it (who may have
    left the team, lost an organisation-wide role or been deactivated since asking): ScopeLost if so."""
    requester = report.requested_by
    try:
        if not requester.is_active:
            raise PermissionDenied("deactivated")
        scope = resolve_scope(user=requester, scope=report.scope, team=report.team, project=report.project)
    except (PermissionDenied, ValidationError) as exc:
        raise ScopeLost from exc
    return build_dataset(scope=scope, as_of=report.as_of, generated_by=requester.get_username(),
                         base_url=settings.MLSEC_BASE_URL, fingerprint=signing_public_key()[1], files=files)


def failure_sentence(report: Report, exc: BaseException) -> str:
    """What went wrong, for the person who asked: a sentence, never an exception's text."""
    if isinstance(exc, ScopeLost):
        return (f"{report.requested_by.get_username()} can no longer export {report.scope_label} (a role or team "
                "membership changed since the export was asked for), so nothing was built.")
    if isinstance(exc, SoftTimeLimitExceeded):
        return (f"Building this export took longer than the {TIME_LIMIT_S // 60}-minute limit, so it was stopped. "
                "Retry, or export a smaller scope (a team or a project).")
    if isinstance(exc, EvidenceMismatch):
        return ("An evidence file no longer matches the SHA-256 recorded when it was uploaded, so the bundle was "
                "not signed. Ask an administrator to check the evidence store before retrying.")
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return (f"The export could not be built because of an unexpected error (reference {str(report.pk)[:8]}). "
            "Retry it; if it fails again, give this reference to your administrator: the details are in the "
            "worker's log.")


def report_build(report_id) -> Report | None:
    """Claim a queued report and build it (a worker task). A failure is recorded, never raised.

    The claim is stamped with its start time, and the result is written only while that claim still
    holds: a build the reaper gave up on (and that the requester may have retried) never overwrites
    the newer state.
    """
    started = timezone.now()
    claimed = Report.objects.filter(pk=report_id, status=ReportStatus.QUEUED).update(
        status=ReportStatus.RUNNING, started_at=started, finished_at=None, progress=5, error="")
    if not claimed:
        return None
    report = Report.objects.select_related("requested_by", "team", "project__team").get(pk=report_id)
    mine = Report.objects.filter(pk=report.pk, status=ReportStatus.RUNNING, started_at=started)
    writer = storage.EncryptedWriter("reports")
    try:
        files = EvidenceFiles()
        dataset = dataset_for(report, files)
        mine.update(progress=20)
        render(dataset, report.format, writer, files)  # EvidenceMismatch: a file differs from its record
        writer.close()
    except Exception as exc:  # noqa: BLE001 - a failed export is a status, never a crashed worker
        log.exception("report %s failed", report_id)  # the exception itself goes to the log only
        writer.discard()
        mine.update(status=ReportStatus.FAILED, finished_at=timezone.now(), error=failure_sentence(report, exc))
        return Report.objects.get(pk=report.pk)
    label = slugify(report.scope_label) or "organisation"
    day = (report.as_of or timezone.localdate()).isoformat()
    done = mine.update(
        status=ReportStatus.READY, progress=100, finished_at=timezone.now(), storage_name=writer.storage_name,
        size=writer.size, sha256=writer.sha256, filename=f"mlsec-{label}-{day}.{get_format(report.format).extension}")
    if not done:  # reaped (and perhaps retried) while it ran: this file is nobody's
        storage.remove(writer.storage_name)
    return Report.objects.get(pk=report.pk)


def report_retry(*, actor, report: Report) -> Report:
    """Queue a failed export again, for the person who asked for it (scope checked again)."""
    if report.requested_by_id != actor.pk:
        raise PermissionDenied("Only the person who asked for this export can retry it; queue a new one instead.")
    if report.status != ReportStatus.FAILED:
        raise ValidationError(f"Only a failed export can be retried; this one is {report.get_status_display().lower()}.")
    resolve_scope(user=actor, scope=report.scope, team=report.team, project=report.project)
    with transaction.atomic(durable=True):
        retried = Report.objects.filter(pk=report.pk, status=ReportStatus.FAILED).update(
            status=ReportStatus.QUEUED, progress=0, started_at=None, finished_at=None, error="", storage_name="",
            filename="", size=0, sha256="")
        if not retried:  # a second click: the first one already queued it
            raise ValidationError("This export was already queued again.")
        audit_record(actor=actor, action="report.retry", obj=report, before={"status": "failed", "error": report.error},
                     after={"status": "queued"})
        transaction.on_commit(lambda: _enqueue(report))
    if report.storage_name:
        storage.remove(report.storage_name)  # the damaged file of an export that failed its integrity check
    return Report.objects.get(pk=report.pk)


def reap_stale_reports(now: dt.datetime | None = None) -> int:
    """Exports left `running` by a dead worker, or `queued` and never picked up, end as failed."""
    now = now or timezone.now()
    reaped = Report.objects.filter(status=ReportStatus.RUNNING, started_at__lt=now - RUNNING_TIMEOUT).update(
        status=ReportStatus.FAILED, finished_at=now,
        error="The worker building this export stopped before it finished (it was restarted, or ran out of memory "
              "or time). Retry it.")
    reaped += Report.objects.filter(status=ReportStatus.QUEUED, created_at__lt=now - QUEUED_TIMEOUT).update(
        status=ReportStatus.FAILED, finished_at=now,
        error=f"No worker picked this export up within {QUEUED_TIMEOUT.seconds // 3600} hours: is a worker consuming "
              "the reports queue? Retry once one is running.")
    if reaped:
        log.warning("reaped %d stuck export(s)", reaped)
    return reaped


def report_verified_chunks(report: Report, *, actor=None):
    """The decrypted export, after checking it against the SHA-256 and size recorded when it was built.

    A mismatch (a stored file altered, truncated, or swapped for another export's frames) marks the
    report failed with a sentence, is audited, and raises ValidationError: nothing is sent.
    """
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in storage.iter_decrypted(report.storage_name):
            digest.update(chunk)
            size += len(chunk)
        intact = digest.hexdigest() == report.sha256 and size == report.size
    except (OSError, ValidationError, ValueError, struct.error):  # missing, undecryptable, cut inside a header
        intact = False
    if not intact:
        message = ("This export's stored file no longer matches the SHA-256 recorded when it was built (it was "
                   "altered or damaged), so it is not sent. Retry to build it again.")
        with transaction.atomic():
            if Report.objects.filter(pk=report.pk, status=ReportStatus.READY).update(
                    status=ReportStatus.FAILED, error=message):
                audit_record(actor=actor, action="report.integrity_failure", obj=report,
                             before={"status": "ready", "sha256": report.sha256}, after={"status": "failed"})
        log.error("report %s: stored file does not match its SHA-256", report.pk)
        raise ValidationError(message)
    return _hashed_again(report)


def _hashed_again(report: Report):
    """The second read, the one that is sent, hashed too and one frame behind: a file swapped between
    the check and the send loses its last frame (a download shorter than its Content-Length, which
    clients reject), so a complete wrong file is never delivered."""
    digest, held = hashlib.sha256(), None
    for chunk in storage.iter_decrypted(report.storage_name):
        digest.update(chunk)
        if held is not None:
            yield held
        held = chunk
    if digest.hexdigest() != report.sha256:
        log.error("report %s: stored file changed while it was being sent", report.pk)
        return
    if held is not None:
        yield held
