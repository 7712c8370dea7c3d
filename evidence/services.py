"""Evidence: storing (encrypted, versioned), reviewing, reading back, and reminding before expiry."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from assessments.models import Answer, Project
from audit.services import audit_record
from controls.models import Practice
from notifications.services import notify

from . import storage
from .models import Evidence, EvidenceKind, EvidenceStatus

SNAPSHOT_FIELDS = ("project", "team", "practice", "answer", "kind", "title", "url", "sha256", "size", "content_type",
                   "original_name", "version", "valid_until", "effective_on", "observed_from", "observed_until", "status")


def max_upload_bytes() -> int:
    return settings.MLSEC_MAX_UPLOAD_MB * 1024 * 1024


def _read_upload(upload) -> bytes:
    """The uploaded bytes, refusing empty and oversized files before reading more than the limit."""
    limit = max_upload_bytes()
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ValidationError({"file": [f"Files are limited to {settings.MLSEC_MAX_UPLOAD_MB} MB."]})
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError({"file": [f"Files are limited to {settings.MLSEC_MAX_UPLOAD_MB} MB."]})
    if not data:
        raise ValidationError({"file": ["The file is empty."]})
    return data


def _date_errors(dates: dict, valid_until) -> dict:
    """The effective date is not in the future; the observation period is in order and before the effective date."""
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    effective, start, end = dates.get("effective_on"), dates.get("observed_from"), dates.get("observed_until")
    if effective is not None and effective > today:
        errors["effective_on"] = ["The effective date cannot be in the future."]
    if effective is not None and valid_until is not None and valid_until < effective:
        errors["valid_until"] = ["The evidence cannot expire before its effective date."]
    if (start is None) != (end is None):
        errors["observed_from" if start is None else "observed_until"] = ["Give both ends of the observation period."]
    elif start is not None and start > end:
        errors["observed_until"] = ["The observation period ends before it starts."]
    elif end is not None and end > (effective or today):
        errors["observed_until"] = ["The observation period cannot end after the effective date (or today)."]
    return errors


def _validate(kind, title, url, text, upload, valid_until, project, practice, answer, previous, dates=None,
              team=None) -> dict:
    dates = dates or {}
    errors: dict[str, list[str]] = {}
    if kind not in EvidenceKind.values or kind == EvidenceKind.CHECK:
        errors["kind"] = ["Choose file, link or note (check results are filed by the checks)."]
    if not (title or "").strip():
        errors["title"] = ["Give the evidence a title."]
    if kind == EvidenceKind.FILE and upload is None:
        errors["file"] = ["Choose a file to upload."]
    if kind != EvidenceKind.FILE and upload is not None:
        errors["file"] = ["Only file evidence carries a file."]
    if kind == EvidenceKind.LINK:
        parts = urlsplit(url or "")
        if parts.scheme not in ("https", "http") or not parts.hostname:
            errors["url"] = ["An http(s) link is required."]
    if kind == EvidenceKind.NOTE and not (text or "").strip():
        errors["text"] = ["Write the note."]
    if valid_until is not None and valid_until < timezone.localdate():
        errors["valid_until"] = ["Evidence that has already expired cannot be added."]
    errors.update(_date_errors(dates, valid_until))
    if not practice.is_active:
        errors["practice"] = ["This practice is no longer in the catalogue."]
    if answer is not None and (project is None or answer.assessment.project_id != project.pk
                               or answer.practice_id != practice.pk):
        errors["answer"] = ["This answer belongs to another project or practice."]
    if previous is not None and (previous.project_id != (project.pk if project else None)
                                 or previous.team_id != (team.pk if team else None) or previous.practice_id != practice.pk
                                 or previous.superseded_at is not None or previous.kind == EvidenceKind.CHECK):
        errors["supersedes"] = ["Only the current version of this project's evidence for this practice can be replaced."]
    return errors


def evidence_add(*, actor, project: Project | None, practice: Practice, kind: str, title: str, url: str = "",
                 text: str = "", upload=None, valid_until: dt.date | None = None, answer: Answer | None = None,
                 supersedes: Evidence | None = None, team=None, effective_on: dt.date | None = None,
                 observed_from: dt.date | None = None, observed_until: dt.date | None = None) -> Evidence:
    """Store a new piece of evidence (or a new version of one). Refusals leave no row and no file.

    Without `project` the evidence is shared: `team`'s, or the organisation's when `team` is None too
    (evidence/sharing.py links it to projects). A new version of shared evidence carries its links.
    """
    if project is not None and team is not None:
        raise ValidationError({"team": ["Evidence belongs to a project or is shared by a team, not both."]})
    if not Evidence.can_be_added_by(actor, project, team=team):
        raise PermissionDenied("Only members of the project's team can attach evidence." if project or team else
                               "Only security officers and administrators store the organisation's evidence.")
    if project is not None and project.archived_at:
        raise ValidationError("An archived project takes no new evidence.")
    dates = {"effective_on": effective_on, "observed_from": observed_from, "observed_until": observed_until}
    errors = _validate(kind, title, url, text, upload, valid_until, project, practice, answer, supersedes, dates, team)
    if errors:
        raise ValidationError(errors)
    evidence = Evidence(project=project, team=team, practice=practice, answer=answer, kind=kind,
                        title=title.strip()[:200], url=url if kind == EvidenceKind.LINK else "",
                        text=text if kind == EvidenceKind.NOTE else "", valid_until=valid_until, uploaded_by=actor,
                        **dates)
    if upload is not None:
        data = _read_upload(upload)
        evidence.content_type = storage.detect_content_type(data)  # raises before anything is written
        evidence.sha256, evidence.size = hashlib.sha256(data).hexdigest(), len(data)
        evidence.original_name = storage.name_for_type(
            storage.sanitise_name(getattr(upload, "name", "") or "evidence"), evidence.content_type)
    elif kind == EvidenceKind.NOTE:
        evidence.sha256, evidence.size = hashlib.sha256(text.encode()).hexdigest(), len(text.encode())
    stored = storage.write(data) if upload is not None else ""
    carried = False
    try:
        with transaction.atomic(durable=True):
            if supersedes is not None:
                locked = Evidence.objects.select_for_update().get(pk=supersedes.pk)
                if locked.superseded_at is not None:
                    raise ValidationError({"supersedes": ["A newer version was stored meanwhile; reload and try again."]})
                evidence.previous, evidence.version = locked, locked.version + 1
                locked.superseded_at = timezone.now()
                locked.save(update_fields=["superseded_at"])
                carried = True
            evidence.storage_name = stored
            evidence.save()
            audit_record(actor=actor, action="evidence.add", obj=evidence,
                         after={name: getattr(evidence, f"{name}_id", None) if name in ("project", "practice", "answer")
                                else getattr(evidence, name) for name in SNAPSHOT_FIELDS},
                         extra={"supersedes": supersedes.pk if supersedes else None})
            if carried and evidence.project_id is None:
                from .sharing import carry_links

                carry_links(actor=actor, old=evidence.previous, new=evidence)
    except BaseException:
        if stored:
            storage.remove(stored)
        raise
    return evidence


@transaction.atomic(durable=True)
def evidence_review(*, actor, evidence: Evidence, status: str, note: str = "") -> Evidence:
    """An officer (outside the team) accepts or rejects evidence, with a note."""
    evidence = Evidence.objects.select_for_update(of=("self",)).select_related("project", "team").get(pk=evidence.pk)
    if not evidence.can_be_reviewed_by(actor):
        raise PermissionDenied("Only a security officer outside the team can review its evidence.")
    if status not in (EvidenceStatus.ACCEPTED, EvidenceStatus.REJECTED):
        raise ValidationError({"status": ["Choose accepted or rejected."]})
    if evidence.kind == EvidenceKind.CHECK:
        raise ValidationError("Check results are authentic by construction; their verdict is the check's.")
    if status == EvidenceStatus.REJECTED and not (note or "").strip():
        raise ValidationError({"note": ["Say why the evidence is rejected."]})
    if status == EvidenceStatus.ACCEPTED and evidence.is_stale(timezone.localdate()):
        raise ValidationError({"status": [
            f"This evidence expired on {evidence.valid_until:%Y-%m-%d}: it cannot be accepted. Ask the team for a "
            "current version, or reject it."]})
    before = {"status": evidence.status, "note": evidence.review_note}
    evidence.status, evidence.review_note = status, (note or "").strip()
    evidence.reviewed_by, evidence.reviewed_at = actor, timezone.now()
    evidence.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
    audit_record(actor=actor, action=f"evidence.{status}", obj=evidence, before=before,
                 after={"status": status, "note": evidence.review_note})
    notify("evidence.reviewed", obj=evidence, actor=actor, context={"status": status})
    return evidence


def evidence_bytes(evidence: Evidence) -> bytes:
    """The decrypted content of a file, checked against the SHA-256 recorded at upload."""
    if evidence.kind != EvidenceKind.FILE or not evidence.storage_name:
        raise ValidationError("This evidence has no file.")
    data = storage.read(evidence.storage_name)
    if hashlib.sha256(data).hexdigest() != evidence.sha256:
        raise ValidationError("The stored file does not match its recorded SHA-256: it was altered.")
    return data


def evidence_chunks(evidence: Evidence) -> Iterator[bytes]:
    """The decrypted content of a file in 64 KiB pieces; ValidationError at the end if it differs from the
    SHA-256 recorded at upload (a consumer must then discard what it made of the pieces)."""
    if evidence.kind != EvidenceKind.FILE or not evidence.storage_name:
        raise ValidationError("This evidence has no file.")
    digest = hashlib.sha256()
    for piece in storage.iter_read(evidence.storage_name):
        digest.update(piece)
        yield piece
    if digest.hexdigest() != evidence.sha256:
        raise ValidationError("The stored file does not match its recorded SHA-256: it was altered.")


def evidence_expiring(user, *, days: int = 30):
    """Current, non-rejected evidence in `user`'s scope whose validity ends within `days` (one query)."""
    today = timezone.localdate()
    return (
        Evidence.objects.visible_to(user)
        .expiring_between(today, today + dt.timedelta(days=days))
        .select_related("project__team", "practice")
        .order_by("valid_until", "pk")
    )


def send_expiry_reminders(*, days: int | None = None) -> int:
    """Tell each piece of evidence's uploader and the team's leads, once, before it expires (through the
    notifications outbox: notifications.reminders)."""
    from notifications.reminders import send_evidence_expiring

    return send_evidence_expiring(days=days)
