"""What the project page shows of pipeline results: the latest uploads and the open findings (two queries)."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Value, When

from .choices import SEVERITY_RANK, FindingStatus
from .models import PipelineFinding, ResultUpload

SHOWN_UPLOADS = 10
SHOWN_FINDINGS = 50


def project_results_context(project) -> dict:
    rank = Case(*(When(severity=s, then=Value(r)) for s, r in SEVERITY_RANK.items()), output_field=IntegerField())
    findings = (PipelineFinding.objects.filter(project=project, status=FindingStatus.OPEN).select_related("definition")
                .annotate(rank=rank).order_by("-rank", "-last_seen_at", "pk"))
    return {
        "pipeline_uploads": list(ResultUpload.objects.filter(project=project).select_related("token", "uploaded_by")
                                 .order_by("-created_at", "-pk")[:SHOWN_UPLOADS]),
        "pipeline_findings": list(findings[:SHOWN_FINDINGS]),
    }
