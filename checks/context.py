"""Build a runner's CheckContext from a project: targets, allowed roots and the data a check needs."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .advisories import DatabaseAdvisorySource
from .runners.base import CheckContext, CheckTargets


@dataclass
class ProjectCheckContext(CheckContext):
    """CheckContext plus the project id, for the database-bound checks (evidence-freshness)."""

    project_id: int | None = None


def targets_for(project) -> CheckTargets:
    raw = project.check_targets or {}
    return CheckTargets(
        source_path=raw.get("source_path", "") or "",
        dependency_files=list(raw.get("dependency_files") or []),
        model_artifacts=list(raw.get("model_artifacts") or []),
        datasets=list(raw.get("datasets") or []),
        endpoint_url=raw.get("endpoint_url", "") or "",
    )


def context_for(project, check_key: str, timeout_s: float = 10.0) -> ProjectCheckContext:
    from .models import ArtifactBaseline
    from .policy_services import allowances_for, signing_for

    baseline = None
    if check_key == "model-integrity":
        stored = ArtifactBaseline.objects.filter(project=project).first()
        baseline = dict(stored.artifacts) if stored else None
    return ProjectCheckContext(
        allowances=allowances_for(project.team_id) if check_key == "model-serialization" else None,
        signing=signing_for(project.pk) if check_key == "model-integrity" else None,
        targets=targets_for(project),
        allowed_roots=list(settings.MLSEC_CHECK_ROOTS),
        advisories=DatabaseAdvisorySource() if check_key == "dependency-vulnerabilities" else None,
        baseline=baseline,
        ca_bundle=settings.MLSEC_CHECK_CA_BUNDLE,
        timeout_s=timeout_s,
        project_id=project.pk,
    )
