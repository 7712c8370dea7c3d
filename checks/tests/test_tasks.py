"""The check tasks under faults and load: retries resume their run, one team cannot starve the
others, and artifact baselines are hashed on a worker, never in a web request.

Faults are injected by replacing one service function for one call (a database hiccup); the
database, the runners and the Celery task machinery are the real ones.
"""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection

from accounts.tests.factories import TeamFactory
from assessments.tests.factories import ProjectFactory
from audit.models import AuditEvent
from checks import services, tasks
from checks.models import ArtifactBaseline, CheckRun
from checks.runners.base import CheckResult


def queued_run(project, key="evidence-freshness"):
    (run,) = services.queue_runs(project=project, keys=[key])
    return run


def fail_once(monkeypatch, module, name):
    """Make `module.name` raise a database fault on its first call only."""
    real = getattr(module, name)
    calls = []

    def flaky(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return calls


# --- retries (issue 11, item 9) -------------------------------------------------------------------

@pytest.mark.parametrize("faulty", ["finish_run", "execute_run"])
def test_a_retried_check_task_resumes_the_run_it_claimed_after_a_database_fault(org, monkeypatch, faulty):
    run = queued_run(org.project)
    calls = fail_once(monkeypatch, services, faulty)
    # throw=False: as a worker does, a Retry re-runs the task (same id) instead of surfacing here
    outcome = tasks.run_check_task.apply(args=[run.pk], task_id="task-after-a-hiccup", throw=False)
    assert outcome.successful(), outcome.traceback
    run.refresh_from_db()
    assert len(calls) == 2  # failed once, then the retry went through
    assert run.status == "failed" and "lack fresh evidence" in run.summary  # a real verdict, not "running" until the reaper
    assert run.task_id == "task-after-a-hiccup" and run.attempts == 2


def test_a_redelivered_task_resumes_its_run_and_another_task_finds_it_taken(org):
    run = queued_run(org.project)
    assert services.claim_run(run.pk, task_id="first") is not None
    assert services.claim_run(run.pk, task_id="second") is None
    resumed = services.claim_run(run.pk, task_id="first")
    assert resumed is not None and resumed.status == "running" and resumed.attempts == 2


def test_a_finished_run_is_not_run_again_by_its_own_task(org):
    run = queued_run(org.project)
    claimed = services.claim_run(run.pk, task_id="only")
    services.finish_run(claimed, CheckResult("passed", "ok"))
    assert services.claim_run(run.pk, task_id="only") is None


# --- one team cannot starve the others ------------------------------------------------------------

@pytest.fixture
def busy_team(org, settings):
    """The Fraud team with three queued runs and a cap of two running runs per team."""
    settings.MLSEC_CHECK_TEAM_CONCURRENCY = 2
    runs = [queued_run(ProjectFactory(team=org.team)) for _ in range(3)]
    return runs


def test_a_team_at_its_concurrency_cap_gets_no_more_running_runs_while_other_teams_do(org, busy_team):
    first, second, third = busy_team
    assert services.claim_run(first.pk) and services.claim_run(second.pk)
    with pytest.raises(services.TeamAtCapacity):
        services.claim_run(third.pk)
    assert CheckRun.objects.get(pk=third.pk).status == "queued"
    other = queued_run(org.other_project)
    assert services.claim_run(other.pk) is not None  # another team is not held up
    services.finish_run(CheckRun.objects.get(pk=first.pk), CheckResult("passed", "ok"))
    assert services.claim_run(third.pk) is not None  # a slot freed: the waiting run goes


def test_the_task_sends_a_run_of_a_busy_team_back_to_the_queue_behind_the_others(org, busy_team, monkeypatch):
    first, second, third = busy_team
    services.claim_run(first.pk)
    services.claim_run(second.pk)
    requeued = []
    monkeypatch.setattr(services, "enqueue", lambda run, countdown=None: requeued.append((run.pk, countdown)))
    assert tasks.run_check_task.run(third.pk) == "deferred"  # as a worker calls it (not eagerly)
    assert CheckRun.objects.get(pk=third.pk).status == "queued"
    ((pk, countdown),) = requeued
    assert pk == third.pk and services.DEFER_S[0] <= countdown <= services.DEFER_S[1]


def test_the_cap_holds_when_two_workers_claim_the_last_slot_at_once(transactional_db, settings):
    settings.MLSEC_CHECK_TEAM_CONCURRENCY = 1
    team = TeamFactory()
    # created directly: queue_runs would hand them to the (eager) task at once
    runs = [CheckRun.objects.create(project=ProjectFactory(team=team), definition_id="evidence-freshness")
            for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes = []

    def claim(run_id):
        barrier.wait()
        try:
            outcomes.append("claimed" if services.claim_run(run_id) else "none")
        except services.TeamAtCapacity:
            outcomes.append("at capacity")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(r.pk,)) for r in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["at capacity", "claimed"]
    assert CheckRun.objects.filter(status="running").count() == 1


def test_an_operator_running_checks_by_hand_is_not_held_to_the_cap(org, busy_team):
    first, second, third = busy_team
    services.claim_run(first.pk)
    services.claim_run(second.pk)
    assert services.run_now(third).status in ("passed", "failed")


# --- artifact baselines are hashed on a worker -----------------------------------------------------

@pytest.fixture
def model_project(org, team_dir):
    files = team_dir(org.team)
    (files / "model.safetensors").write_bytes(b"weights v1")
    org.project.check_targets = {"model_artifacts": [f"{files}/*.safetensors"]}
    org.project.save()
    return org.project, files


def test_approving_the_baseline_through_the_api_queues_it_and_the_request_hashes_nothing(
        org, api, model_project, monkeypatch, django_capture_on_commit_callbacks):
    import checks.runners.model_integrity as integrity

    project, _ = model_project
    hashed = []
    real_hash = integrity.sha256_file
    monkeypatch.setattr(integrity, "sha256_file", lambda path: hashed.append(path) or real_hash(path))
    queued = []
    monkeypatch.setattr(tasks.approve_baseline_task, "apply_async",
                        lambda args, **options: queued.append((args, options)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api(org.lead).post(f"/api/v1/projects/{project.pk}/artifact-baseline/")
        again = api(org.lead).post(f"/api/v1/projects/{project.pk}/artifact-baseline/")  # a double click
    assert response.status_code == 202 and again.status_code == 202
    assert response.data["approval"]["status"] == "queued" and response.data["artifacts"] == {}
    assert again.data["approval"]["id"] == response.data["approval"]["id"]
    assert hashed == [] and not ArtifactBaseline.objects.filter(project=project).exists()
    for callback in callbacks:
        callback()
    ((args, options),) = queued
    assert options["queue"] == "heavy"
    assert tasks.approve_baseline_task.run(*args) == "done"  # what the heavy worker runs
    assert len(hashed) == 1
    baseline = ArtifactBaseline.objects.get(project=project)
    ((path, _digest),) = baseline.artifacts.items()
    assert path.endswith("/model.safetensors") and baseline.approved_by == org.lead
    detail = api(org.lead).get(f"/api/v1/projects/{project.pk}/artifact-baseline/").data
    assert detail["approval"]["status"] == "done" and detail["approval"]["requested_by"] == "lead"
    assert AuditEvent.objects.filter(action="baseline.approve", actor=org.lead).exists()


def test_the_project_page_queues_the_approval_too(org, client, model_project, django_capture_on_commit_callbacks):
    from checks.models import BaselineApproval

    project, _ = model_project
    client.force_login(org.lead)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/projects/{project.pk}/artifact-baseline/", follow=True)
    assert "Re-approval queued" in response.content.decode()
    assert BaselineApproval.objects.get(project=project).status == "queued"
    assert not ArtifactBaseline.objects.filter(project=project).exists()
    assert "a worker is hashing the artifacts" in client.get(f"/projects/{project.pk}/").content.decode()


def test_a_requester_who_lost_the_lead_role_before_the_worker_ran_approves_nothing(
        org, model_project, django_capture_on_commit_callbacks, monkeypatch):
    project, _ = model_project
    monkeypatch.setattr(tasks.approve_baseline_task, "apply_async", lambda *args, **kwargs: None)
    approval = services.baseline_approval_request(actor=org.lead, project=project)
    org.lead.memberships.update(role="member")
    assert tasks.approve_baseline_task.run(approval.pk) == "failed"
    approval.refresh_from_db()
    assert "may no longer approve" in approval.detail
    assert not ArtifactBaseline.objects.filter(project=project).exists()


def test_an_unreadable_artifact_fails_the_approval_with_a_reason(org, model_project, monkeypatch):
    project, files = model_project
    monkeypatch.setattr(tasks.approve_baseline_task, "apply_async", lambda *args, **kwargs: None)
    approval = services.baseline_approval_request(actor=org.lead, project=project)
    (files / "model.safetensors").unlink()
    assert tasks.approve_baseline_task.run(approval.pk) == "failed"
    approval.refresh_from_db()
    assert approval.detail.startswith("the artifacts could not be read")
