"""Shared builders for the notification tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.utils import timezone

from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment
from controls.models import Practice
from evidence.models import Evidence, EvidenceKind


def submitted_assessment(org, cycle="2026-Q4"):
    from assessments.services import assessment_submit

    assessment = make_assessment(org.project, levels=3, cycle=cycle)
    return assessment_submit(actor=org.lead, assessment=assessment)


def approved_assessment(org):
    from assessments.services import assessment_approve

    return assessment_approve(actor=org.officer, assessment=submitted_assessment(org), comment="Well evidenced.")


def note_evidence(org, *, uploader=None, valid_until: dt.date | None = None, title="Incident tabletop notes"):
    return Evidence.objects.create(
        project=org.project, practice=Practice.objects.get(code="MLS-17"), kind=EvidenceKind.NOTE, title=title,
        text="We ran the tabletop.", uploaded_by=uploader or org.member, valid_until=valid_until)


def days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def verify_signature(hit, secret: str) -> bool:
    """What a receiver does: recompute HMAC-SHA256 over `<timestamp>.<body>` and compare in constant time."""
    timestamp = hit.headers["X-MLSec-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + hit.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, hit.headers["X-MLSec-Signature"])


__all__ = ["AssessmentStatus", "approved_assessment", "days", "note_evidence", "submitted_assessment",
           "verify_signature"]
