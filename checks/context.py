"""Build a runner's CheckContext from a project: targets, its boundaries and the data a check needs.

The boundaries come from the settings and the project's team, never from the targets: the team's
own check directories (`checks.confinement.team_check_roots`), the portal's protected files, the
networks an administrator allows (`MLSEC_CHECK_ALLOWED_NETWORKS`) and the resource limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .advisories import DatabaseAdvisorySource
from .confinement import protected_paths, team_check_roots
from .runners.base import CheckContext, CheckTargets, ResourceLimits


@dataclass
class ProjectCheckContext(CheckContext):
    """CheckContext plus the project id, for the database-bound checks (checks/freshness.py)."""

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


def resource_limits() -> ResourceLimits:
    """The caps from the settings (MLSEC_CHECK_MEMORY_MB, MLSEC_CHECK_MAX_DECOMPRESSED_MB, …)."""
    return ResourceLimits(
        memory_mb=settings.MLSEC_CHECK_MEMORY_MB,
        max_decompressed_bytes=settings.MLSEC_CHECK_MAX_DECOMPRESSED_MB * 1024 * 1024,
        max_pickle_opcodes=settings.MLSEC_CHECK_MAX_PICKLE_OPCODES,
        max_archive_members=settings.MLSEC_CHECK_MAX_ARCHIVE_MEMBERS,
    )


def context_for(project, check_key: str, timeout_s: float = 10.0) -> ProjectCheckContext:
    from .models import ArtifactBaseline
    from .policy_services import allowances_for, signing_for
    from .registry import registry

    check = registry().get(check_key)
    needs = getattr(check, "context_needs", frozenset()) if check is not None else frozenset()
    baseline = None
    if "baseline" in needs:
        stored = ArtifactBaseline.objects.filter(project=project).first()
        baseline = dict(stored.artifacts) if stored else None
    return ProjectCheckContext(
        allowances=allowances_for(project.team_id) if "allowances" in needs else None,
        signing=signing_for(project.pk) if "signing" in needs else None,
        targets=targets_for(project),
        allowed_roots=team_check_roots(project.team),
        denied_paths=protected_paths(),
        allowed_networks=list(settings.MLSEC_CHECK_ALLOWED_NETWORKS),
        limits=resource_limits(),
        advisories=DatabaseAdvisorySource() if "advisories" in needs else None,
        baseline=baseline,
        ca_bundle=settings.MLSEC_CHECK_CA_BUNDLE,
        timeout_s=timeout_s,
        project_id=project.pk,
    )
