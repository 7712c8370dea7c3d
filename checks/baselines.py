"""The hooks of the check that records the model baseline (`model-integrity` declares them).

`after_run` runs on the worker once the runner is done: a changed artifact names its approved and
current version, and a first run never approves artifacts the model scanner fails on.
`finish_hook` runs in the transaction that stores the verdict: a first run's digests become the
project's approved baseline.
"""

from __future__ import annotations

from audit.services import audit_record

from .models import ArtifactBaseline


def after_run(project, result):
    from sources.runs import guard_first_baseline, name_versions

    stored = ArtifactBaseline.objects.filter(project_id=project.pk).first()
    if stored is not None:
        name_versions(result, stored.versions or {})
    return guard_first_baseline(project, result)


def record_first_baseline(run, result) -> None:
    if not (result.data or {}).get("baseline_recorded"):
        return
    if not ArtifactBaseline.objects.filter(project_id=run.project_id).exists():
        ArtifactBaseline.objects.create(project_id=run.project_id, artifacts=result.data.get("artifacts") or {},
                                        approved_at=run.finished_at, source_run=run,
                                        versions=result.data.get("artifact_versions") or {})
        audit_record(actor=None, action="baseline.record", object_type="assessments.project",
                     object_id=str(run.project_id), object_repr=str(run.project),
                     after={"artifacts": len(result.data.get("artifacts") or {}), "run": run.pk})
