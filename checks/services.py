"""Check runs from request to verdict: queue, claim, run, finish, and what a verdict changes.

A run is queued by a person or a schedule, claimed by exactly one worker with a conditional UPDATE
(which also holds each team to `MLSEC_CHECK_TEAM_CONCURRENCY` running runs, so one team cannot
starve the others), executed by its plain-Python runner, and finished in one transaction that
stores the findings, supersedes the previous verdict, files the result as evidence for every
practice the check covers, runs the check's finish hook (the model baseline's first recording), and
notifies people when the verdict turns to failed. The task that claimed a run may claim it again (a
retry after a database fault, a redelivery after a worker died) and resumes it instead of leaving it
`running` for the reaper. What differs between checks is declared on the check class
(`checks.registry`): nothing here names a check.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, IntegerField, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Team
from assessments.models import Project
from audit.services import audit_record
from controls.models import Practice

from .choices import DECIDED_STATUSES, RunStatus, Trigger
from .models import ArtifactBaseline, BaselineApproval, CheckDefinition, CheckRun
from .registry import baseline_check, check_keys, get_check, hook, registry
from .runners.base import CheckResult, CheckTimedOut

log = logging.getLogger(__name__)

SOFT_MARGIN_S = 10  # the soft limit fires this long before the hard one, so the run can record "error"
REAP_GRACE_S = 120  # a running run older than its hard limit plus this was abandoned by its worker
QUEUED_TIMEOUT = dt.timedelta(hours=6)  # a queued run nobody picked up in this long is given up
DEFER_S = (15, 45)  # a run of a team at its concurrency cap waits this long (random) before trying again
DEFAULT_CAP = object()


class TeamAtCapacity(Exception):  # noqa: N818 - a state, not a failure
    """The run's team already has its share of running checks: the run stays queued, to be tried later."""


@transaction.atomic
def sync_check_definitions(using: str = "default") -> None:
    """Mirror the code registry in the database (titles, limits, covered practices)."""
    practices = {p.code: p for p in Practice.objects.using(using).all()}
    for key, check in registry().items():
        definition, _ = CheckDefinition.objects.using(using).update_or_create(
            key=key,
            defaults={
                "title": check.title, "description": check.description, "timeout_s": check.time_limit_s,
                "heavy": check.heavy, "default_schedule": check.default_schedule,
            },
        )
        definition.practices.set([practices[c] for c in check.practices if c in practices])


# --- queueing -----------------------------------------------------------------------------------

def _skip_reason(project: Project, key: str) -> str | None:
    reason = (project.check_opt_outs or {}).get(key)
    if reason:
        return f"opted out: {reason}"
    from sources.runs import may_apply

    if not may_apply(project, get_check(key)):
        return "no target configured for this check"
    return None


@transaction.atomic(durable=True)
def queue_runs(*, project: Project, keys: list[str] | None = None, actor=None, trigger: str = Trigger.MANUAL,
               record_skips: bool = True) -> list[CheckRun]:
    """Queue one run per check (all registered checks by default) and return them.

    A check already queued or running on the project is not queued twice: its active run is returned
    (a partial unique index makes this hold even for two triggers racing). Checks the project opted
    out of, or has no target for, are recorded as `skipped` at once when `record_skips`.
    """
    keys = sorted(check_keys()) if not keys else keys
    unknown = sorted(set(keys) - check_keys())
    if unknown:
        raise ValidationError({"checks": [f"Unknown checks: {', '.join(unknown)}."]})
    if actor is not None and not project.can_run_checks(actor):
        raise PermissionDenied("Only the team, a security officer or an administrator can run this project's checks.")
    if project.archived_at:
        raise ValidationError("An archived project is not checked.")
    runs = []
    for key in keys:
        reason = _skip_reason(project, key)
        if reason:
            if record_skips:
                now = timezone.now()
                runs.append(CheckRun.objects.create(
                    project=project, definition_id=key, status=RunStatus.SKIPPED, trigger=trigger,
                    requested_by=actor, started_at=now, finished_at=now, summary=reason))
            continue
        runs.append(_queue_one(project, key, actor, trigger))
    if actor is not None:
        audit_record(actor=actor, action="checks.run", obj=project,
                     after={"checks": keys, "runs": [r.pk for r in runs]})
    return runs


def _queue_one(project: Project, key: str, actor, trigger: str) -> CheckRun:
    try:
        with transaction.atomic():
            run = CheckRun.objects.create(project=project, definition_id=key, trigger=trigger, requested_by=actor)
    except IntegrityError:  # already queued or running: the one-active-run constraint said so
        return CheckRun.objects.filter(project=project, definition_id=key,
                                       status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).first() or _queue_one(
            project, key, actor, trigger)
    transaction.on_commit(lambda: enqueue(run))
    return run


def enqueue(run: CheckRun, countdown: int | None = None) -> None:
    """Send the run to its queue: model scanners that read large files go to `heavy`."""
    from .tasks import run_check_task

    definition = get_check(run.definition_id)
    hard = definition.time_limit_s
    run_check_task.apply_async(
        args=[run.pk], queue="heavy" if definition.heavy else "checks", countdown=countdown,
        time_limit=hard, soft_time_limit=max(1, hard - SOFT_MARGIN_S),
    )


def defer_run(run_id: int) -> None:
    """Queue a run of a team at its cap again, behind the other teams' runs (after a random wait)."""
    import secrets

    run = CheckRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).first()
    if run is not None:
        enqueue(run, countdown=DEFER_S[0] + secrets.randbelow(DEFER_S[1] - DEFER_S[0] + 1))


# --- running ------------------------------------------------------------------------------------

def claim_run(run_id: int, worker: str | None = None, *, task_id: str = "", team_cap=DEFAULT_CAP) -> CheckRun | None:
    """Move a run from queued to running; exactly one caller wins (a conditional UPDATE).

    The task `task_id` that claimed a run claims it again (a retry, a redelivery) and resumes it.
    A team with `team_cap` runs already running (default `MLSEC_CHECK_TEAM_CONCURRENCY`; 0 or
    None: no cap) gets none more: :class:`TeamAtCapacity` is raised and the run stays queued.
    """
    cap = settings.MLSEC_CHECK_TEAM_CONCURRENCY if team_cap is DEFAULT_CAP else team_cap
    host = (worker or socket.gethostname())[:200]
    if task_id and CheckRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, task_id=task_id[:64]).update(
            worker=host, attempts=F("attempts") + 1):
        log.info("run %s resumed by its task %s", run_id, task_id)
        return CheckRun.objects.select_related("project__team").get(pk=run_id)
    with transaction.atomic():
        team_id = (CheckRun.objects.filter(pk=run_id, status=RunStatus.QUEUED)
                   .values_list("project__team_id", flat=True).first())
        if team_id is None:
            current = CheckRun.objects.filter(pk=run_id).values_list("status", flat=True).first()
            log.info("run %s not claimed: its status is %s", run_id, current or "missing")
            return None
        candidates = CheckRun.objects.filter(pk=run_id, status=RunStatus.QUEUED)
        if cap:
            # Claims of one team queue behind this row lock (PostgreSQL), and the count is part of
            # the UPDATE itself, so two workers can never both take the last free slot.
            list(Team.objects.select_for_update().filter(pk=team_id).values_list("pk", flat=True))
            busy = (CheckRun.objects.filter(status=RunStatus.RUNNING, project__team_id=team_id).order_by()
                    .values("project__team_id").annotate(n=Count("pk")).values("n"))
            candidates = candidates.alias(
                busy=Coalesce(Subquery(busy, output_field=IntegerField()), Value(0))).filter(busy__lt=cap)
        claimed = candidates.update(status=RunStatus.RUNNING, started_at=timezone.now(), worker=host,
                                    task_id=task_id[:64], attempts=F("attempts") + 1)
    if not claimed:
        if cap and CheckRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).exists():
            raise TeamAtCapacity(f"team {team_id} has {cap} running runs")
        return None
    return CheckRun.objects.select_related("project__team").get(pk=run_id)


def execute_run(run: CheckRun):
    """Run the check's runner, then its `after_run` hook (never raises: a crash becomes an `error`
    result, the check's time limit an `error` saying so)."""
    from sources.runs import execute

    check = get_check(run.definition_id)
    try:
        result = execute(run.project, run.definition_id, run_id=run.pk)
    except CheckTimedOut:
        return CheckResult("error", f"time limit of {check.time_limit_s} s exceeded: the check could not decide")
    after_run = hook(check, "after_run")
    return after_run(run.project, result) if after_run else result


@transaction.atomic
def finish_run(run: CheckRun, result) -> CheckRun:
    """Store the verdict and everything that follows from it, in one transaction."""
    run = CheckRun.objects.select_for_update().select_related("project__team", "definition").get(pk=run.pk)
    if run.status != RunStatus.RUNNING:
        return run  # the reaper already gave up on it
    now = timezone.now()
    previous_run = _current_verdict_run(run)
    previous = previous_run.status if previous_run else None
    run.status = result.status
    run.summary = result.summary[:2000]
    run.findings = [f.as_dict() for f in result.findings][:500]
    run.data = result.data or {}
    run.finished_at = now
    from sources.runs import lift_refusal, primary

    run.source_id, run.revision = primary(run.data)
    refusal = lift_refusal(previous_run.data, run.data) if previous == "failed" and run.status == "passed" else None
    if refusal:  # verdicts belong to a source: a pass elsewhere does not lift a failure on it
        run.summary = f"{run.summary} — {refusal}"[:2000]
        run.superseded_at = now
    run.save(update_fields=["status", "summary", "findings", "data", "finished_at", "source", "revision",
                            "superseded_at"])
    if refusal:
        return run
    if run.status in DECIDED_STATUSES:
        CheckRun.objects.filter(
            project_id=run.project_id, definition_id=run.definition_id, status__in=DECIDED_STATUSES,
            superseded_at__isnull=True,
        ).exclude(pk=run.pk).update(superseded_at=now)
    if run.status != RunStatus.SKIPPED:
        _file_as_evidence(run, now)
    # Results imported from pipelines (ingest) have definitions of their own, outside the code registry.
    finish_hook = hook(registry().get(run.definition_id), "finish_hook")
    if finish_hook is not None:
        finish_hook(run, result)
    if run.status in DECIDED_STATUSES and (previous or None) != run.status:
        _state_changed(run, previous)
    if run.status in DECIDED_STATUSES:  # the superseding above is an update(): no model signal saw it
        from .signals import verdict_decided

        verdict_decided.send(sender=CheckRun, run=run)  # scoring refreshes the rollup, actions follow up
    return run


def _current_verdict_run(run: CheckRun) -> CheckRun | None:
    return (CheckRun.objects.filter(project_id=run.project_id, definition_id=run.definition_id,
                                    status__in=DECIDED_STATUSES, superseded_at__isnull=True)
            .exclude(pk=run.pk).only("status", "data").first())


def _file_as_evidence(run: CheckRun, now) -> None:
    """The run becomes evidence for each practice it covers; it supersedes the previous run's evidence."""
    from evidence.models import Evidence, EvidenceKind, EvidenceStatus

    practices = list(run.definition.practices.all())
    text = run.summary
    if run.revision:  # the evidence says exactly what was checked (commit, object versions, model version)
        import json

        text = f"{run.summary}\nRevision checked: {json.dumps(run.revision, sort_keys=True)}"[:4000]
    previous = {e.practice_id: e for e in Evidence.objects.filter(
        project_id=run.project_id, kind=EvidenceKind.CHECK, check_run__definition_id=run.definition_id,
        superseded_at__isnull=True)}
    created = []
    for practice in practices:
        before = previous.get(practice.pk)
        if before:
            Evidence.objects.filter(pk=before.pk).update(superseded_at=now)
        created.append(Evidence(
            project_id=run.project_id, practice=practice, kind=EvidenceKind.CHECK, check_run=run,
            title=f"{run.definition.title}: {run.status}", text=text, previous=before,
            version=(before.version + 1) if before else 1,
            # Machine evidence is authentic by construction; its verdict lives on the run.
            status=EvidenceStatus.ACCEPTED, reviewed_at=now,
            review_note=f"recorded automatically by check run #{run.pk}",
        ))
    Evidence.objects.bulk_create(created)


def _state_changed(run: CheckRun, previous: str | None) -> None:
    audit_record(actor=None, action="check.verdict_changed", obj=run,
                 before={"status": previous}, after={"status": run.status, "summary": run.summary[:300]})
    from notifications.services import notify

    if run.status == RunStatus.FAILED:
        notify("check.failing", obj=run, context={"previous": previous})
    elif run.status == RunStatus.PASSED and previous == RunStatus.FAILED:
        notify("check.recovered", obj=run)


def record_error(run_id: int, summary: str) -> None:
    """End a run that could not finish normally as `error` (never as a verdict)."""
    CheckRun.objects.filter(pk=run_id, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).update(
        status=RunStatus.ERROR, summary=summary[:2000], finished_at=timezone.now())


def run_now(run: CheckRun) -> CheckRun:
    """Claim, execute and finish a queued run in this process (`run_checks --sync`).

    An operator running checks by hand is not held to the per-team cap of the workers.
    """
    claimed = claim_run(run.pk, team_cap=None)
    if claimed is None:
        return CheckRun.objects.get(pk=run.pk)
    return finish_run(claimed, execute_run(claimed))


# --- housekeeping -------------------------------------------------------------------------------

def reap_stale_runs(now: dt.datetime | None = None) -> int:
    """Runs left `running` by a dead worker, or `queued` and never picked up, end as `error`."""
    now = now or timezone.now()
    reaped = 0
    for definition in CheckDefinition.objects.all():
        limit = now - dt.timedelta(seconds=definition.timeout_s + REAP_GRACE_S)
        reaped += CheckRun.objects.filter(definition=definition, status=RunStatus.RUNNING, started_at__lt=limit).update(
            status=RunStatus.ERROR, finished_at=now,
            summary=f"abandoned: still running {definition.timeout_s + REAP_GRACE_S} s after it started "
                    "(the worker stopped or exceeded its time limit); the check could not decide")
    reaped += CheckRun.objects.filter(status=RunStatus.QUEUED, created_at__lt=now - QUEUED_TIMEOUT).update(
        status=RunStatus.ERROR, finished_at=now,
        summary="no worker picked this run up within 6 hours; is a worker consuming its queue?")
    hashing = baseline_check().time_limit_s + REAP_GRACE_S
    BaselineApproval.objects.filter(status__in=("queued", "running"),
                                    requested_at__lt=now - max(QUEUED_TIMEOUT, dt.timedelta(seconds=hashing))).update(
        status="failed", finished_at=now, detail="no worker finished hashing the artifacts; request it again")
    return reaped


def dispatch_scheduled(key: str) -> int:
    """Queue `key` on every active project it applies to (the schedule of one check)."""
    queued = 0
    for project in Project.objects.active().select_related("team").iterator(chunk_size=500):
        if _skip_reason(project, key) is None:
            _queue_one(project, key, None, Trigger.SCHEDULE)
            queued += 1
    return queued


def prune_history(*, retention_days: int, now: dt.datetime | None = None) -> dict:
    """Delete superseded check runs (and their evidence) older than the retention (scoring prunes its own
    snapshots: `scoring.services.prune_snapshots`).

    The verdict that counts today and the last run of each check are never pruned.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=retention_days)
    old_runs = CheckRun.objects.filter(finished_at__lt=cutoff).exclude(
        status__in=DECIDED_STATUSES, superseded_at__isnull=True)
    keep = CheckRun.objects.latest_per_check().values("pk")
    runs, _ = old_runs.exclude(pk__in=keep).delete()
    return {"check_runs": runs}


# --- baselines ----------------------------------------------------------------------------------

@transaction.atomic(durable=True)
def baseline_approval_request(*, actor, project: Project) -> BaselineApproval:
    """Queue the re-approval of the project's model artifacts as they are now (hashed on a worker).

    A request already queued or running for the project is returned instead of a second one.
    """
    from sources.runs import may_apply

    if not project.can_approve_baseline(actor):
        raise PermissionDenied("Only the team's lead or a security officer can approve the model baseline.")
    if project.archived_at:
        raise ValidationError("An archived project is not checked.")
    if not may_apply(project, baseline_check()):
        raise ValidationError("This project has no model artifacts configured.")
    active = BaselineApproval.objects.filter(project=project, status__in=("queued", "running")).first()
    if active is not None:
        return active
    try:
        with transaction.atomic():
            approval = BaselineApproval.objects.create(project=project, requested_by=actor)
    except IntegrityError:  # a concurrent request won the one-active constraint
        return BaselineApproval.objects.get(project=project, status__in=("queued", "running"))
    audit_record(actor=actor, action="baseline.approve_requested", obj=project, after={"approval": approval.pk})
    transaction.on_commit(lambda: _enqueue_approval(approval.pk))
    return approval


def _enqueue_approval(approval_id: int) -> None:
    from .tasks import approve_baseline_task

    hard = baseline_check().time_limit_s
    approve_baseline_task.apply_async(args=[approval_id], queue="heavy", time_limit=hard,
                                      soft_time_limit=max(1, hard - SOFT_MARGIN_S))


def baseline_approval_execute(approval_id: int) -> BaselineApproval | None:
    """On a worker: hash the artifacts and store them as the approved baseline, or say why not."""
    from sources.runs import execute

    # "running" too: a retry after a database fault resumes the request (hashing twice is harmless)
    if not BaselineApproval.objects.filter(pk=approval_id, status__in=("queued", "running")).update(status="running"):
        return None
    approval = BaselineApproval.objects.select_related("project__team", "requested_by").get(pk=approval_id)
    project, actor = approval.project, approval.requested_by
    if not project.can_approve_baseline(actor):  # roles may change while the request waits
        return _approval_end(approval, "failed", "the requester may no longer approve this project's baseline")
    result = execute(project, baseline_check().key, baseline=None)
    if result.status != "passed":
        return _approval_end(approval, "failed", f"the artifacts could not be read: {result.summary}")
    return _approval_store(approval, actor, result.data.get("artifacts") or {}, result.data.get("artifact_versions"))


@transaction.atomic
def _approval_store(approval: BaselineApproval, actor, artifacts: dict, versions: dict | None = None) -> BaselineApproval:
    project = approval.project
    current = ArtifactBaseline.objects.select_for_update().filter(project=project).first()
    before = dict(current.artifacts) if current else None
    ArtifactBaseline.objects.update_or_create(
        project=project, defaults={"artifacts": artifacts, "approved_by": actor, "approved_at": timezone.now(),
                                   "source_run": None, "versions": versions or {}})
    audit_record(actor=actor, action="baseline.approve", obj=project, before={"artifacts": before},
                 after={"artifacts": artifacts, "approval": approval.pk})
    approval.artifacts = len(artifacts)
    return _approval_end(approval, "done", f"{len(artifacts)} artifact(s) approved")


def baseline_approval_fail(approval_id: int, detail: str) -> None:
    BaselineApproval.objects.filter(pk=approval_id, status__in=("queued", "running")).update(
        status="failed", detail=detail[:2000], finished_at=timezone.now())


def _approval_end(approval: BaselineApproval, status: str, detail: str) -> BaselineApproval:
    approval.status, approval.detail, approval.finished_at = status, detail[:2000], timezone.now()
    approval.save(update_fields=["status", "detail", "finished_at", "artifacts"])
    return approval


def failing_checks(user):
    """The current failing verdicts in `user`'s scope, newest first (one query)."""
    return (
        CheckRun.objects.visible_to(user)
        .filter(status=RunStatus.FAILED, superseded_at__isnull=True, project__archived_at__isnull=True)
        .select_related("project__team", "definition")
        .order_by("-finished_at")
    )
