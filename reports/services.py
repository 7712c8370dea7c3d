"""Requesting and building exports, and the signing key they are signed with."""

from __future__ import annotations

import datetime as dt
import io
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Team
from assessments.models import Project
from audit.services import audit_record
from evidence import storage

from .bundle import build_bundle, public_key_fingerprint, public_key_pem
from .dataset import EvidenceFiles, Scope, build_dataset
from .models import FORMAT_FILES, Report, ReportFormat, ReportScope, ReportStatus
from .renderers import render_pdf, write_csv, write_json, write_oscal
from .renderers.oscal_poam import write_poam
from .renderers.soa_csv import write_soa_csv
from .renderers.soa_pdf import render_soa_pdf

log = logging.getLogger(__name__)


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


def report_request(*, actor, scope: str, format: str, team: Team | None = None, project: Project | None = None,
                   as_of: dt.date | None = None) -> Report:
    """Queue an export; a worker builds it. Answers at once."""
    if format not in ReportFormat.values:
        raise ValidationError({"format": [f"Choose one of: {', '.join(ReportFormat.values)}."]})
    if as_of is not None and as_of > timezone.localdate():
        raise ValidationError({"as_of": ["as_of cannot be in the future."]})
    resolve_scope(user=actor, scope=scope, team=team, project=project)
    with transaction.atomic():
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
    """Write one format of `dataset` to the binary stream `out`."""
    if fmt == ReportFormat.PDF:
        render_pdf(dataset, out)
    elif fmt == ReportFormat.CSV:
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        write_csv(dataset, text)
        text.flush()
        text.detach()
    elif fmt == ReportFormat.JSON:
        write_json(dataset, out)
    elif fmt == ReportFormat.OSCAL:
        write_oscal(dataset, out)
    elif fmt == ReportFormat.OSCAL_POAM:
        write_poam(dataset, out)
    elif fmt == ReportFormat.SOA_CSV:
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        write_soa_csv(dataset, text)
        text.flush()
        text.detach()
    elif fmt == ReportFormat.SOA_PDF:
        render_soa_pdf(dataset, out)
    elif fmt == ReportFormat.ZIP:
        build_bundle(dataset, files if files is not None else {}, out, signing_key_pem())
    else:
        raise ValidationError({"format": ["Unknown format."]})


def dataset_for(report: Report, files: EvidenceFiles | None = None) -> dict:
    scope = resolve_scope(user=None, scope=report.scope, team=report.team, project=report.project)
    return build_dataset(scope=scope, as_of=report.as_of, generated_by=report.requested_by.get_username(),
                         base_url=settings.MLSEC_BASE_URL, fingerprint=signing_public_key()[1], files=files)


def report_build(report_id) -> Report | None:
    """Claim a queued report and build it (a worker task). A failure is recorded, never raised."""
    claimed = Report.objects.filter(pk=report_id, status=ReportStatus.QUEUED).update(
        status=ReportStatus.RUNNING, started_at=timezone.now(), progress=5)
    if not claimed:
        return None
    report = Report.objects.select_related("requested_by", "team", "project__team").get(pk=report_id)
    writer = storage.EncryptedWriter("reports")
    try:
        files = EvidenceFiles()
        dataset = dataset_for(report, files)
        Report.objects.filter(pk=report.pk).update(progress=20)
        render(dataset, report.format, writer, files)
        writer.close()
    except Exception as exc:  # noqa: BLE001 - a failed export is a status, never a crashed worker
        log.exception("report %s failed", report_id)
        writer.discard()
        Report.objects.filter(pk=report.pk).update(status=ReportStatus.FAILED, finished_at=timezone.now(),
                                                   error=f"{type(exc).__name__}: {str(exc)[:500]}")
        return Report.objects.get(pk=report.pk)
    label = slugify(report.scope_label) or "organisation"
    day = (report.as_of or timezone.localdate()).isoformat()
    Report.objects.filter(pk=report.pk).update(
        status=ReportStatus.READY, progress=100, finished_at=timezone.now(), storage_name=writer.storage_name,
        size=writer.size, sha256=writer.sha256, filename=f"mlsec-{label}-{day}.{FORMAT_FILES[report.format][1]}")
    return Report.objects.get(pk=report.pk)
