"""Adding a check is one class (docs/checks.md, "Adding a check").

The plug-in below exists only in this module: it is registered by a fixture that removes it again,
and it runs through the same API, task and services as the built-in checks. Nothing outside this
module knows its key.
"""

from __future__ import annotations

import os

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection

from checks import registry, services
from checks.models import CheckDefinition, CheckRun
from checks.runners import run_check
from checks.runners.base import BaseCheck, CheckContext, CheckResult, CheckTargets, CheckTimedOut, Finding
from checks.runners.paths import PathPolicy
from evidence.models import Evidence, EvidenceKind
from mlsec_portal.schedules import default_schedules

KEY = "test-model-card"
FINISHED: list[tuple] = []


def remember_finish(run, result) -> None:
    """The plug-in's finish hook: called in the transaction that stores the verdict."""
    FINISHED.append((run.pk, run.status, result.summary, connection.in_atomic_block))


class ModelCardCheck(BaseCheck):
    key = KEY
    title = "Model card present"
    practices = ("MLS-05", "MLS-06")
    default_schedule = "15 3 * * 2"
    time_limit_s = 45
    heavy = False
    source_kinds = ("path",)
    context_needs = frozenset({"advisories"})
    finish_hook = f"{__name__}.remember_finish"
    description = ("Looks for a MODEL_CARD.md in the project's source path. Fails when there is none. "
                   "A test-only plug-in.")
    slow = False

    def applies(self, targets: CheckTargets) -> bool:
        return bool(targets.source_path.strip())

    def run(self, ctx: CheckContext) -> CheckResult:
        if self.slow:
            raise CheckTimedOut("the model card took too long to find")
        assert ctx.advisories is not None  # it asked for them: the context has them
        policy = PathPolicy.for_context(ctx)
        folder, refused = policy.resolve_dir(ctx.targets.source_path)
        if refused is not None:
            return CheckResult("error", "the source path cannot be read", [refused])
        if os.path.isfile(os.path.join(folder, "MODEL_CARD.md")):
            return CheckResult("passed", "a model card is present", data={"card": "MODEL_CARD.md"})
        return CheckResult("failed", "no model card", [Finding("medium", "no MODEL_CARD.md", "", "MODEL_CARD.md")])


@pytest.fixture
def plugin(db):
    registry.register(ModelCardCheck)
    services.sync_check_definitions()  # what every `migrate` does
    FINISHED.clear()
    yield ModelCardCheck
    registry.unregister(KEY)
    ModelCardCheck.slow = False


@pytest.fixture
def project_with_card(org, team_dir):
    folder = team_dir(org.team)
    (folder / "MODEL_CARD.md").write_text("# Card fraud scorer\nIntended use: scoring card payments.\n")
    org.project.check_targets = {"source_path": str(folder)}
    org.project.save(update_fields=["check_targets"])
    return org


def run_through_the_api(api, user, project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the task runs (eagerly) once the request commits
        response = api(user).post(f"/api/v1/projects/{project.pk}/run-checks/", {"checks": [KEY]}, format="json")
    assert response.status_code == 202, response.data
    (queued,) = response.data["check_runs"]
    return CheckRun.objects.get(pk=queued["id"])


def test_a_plugin_check_is_registered_with_what_it_declares(plugin):
    assert KEY in registry.check_keys()
    definition = CheckDefinition.objects.get(key=KEY)
    assert definition.title == "Model card present" and definition.timeout_s == 45
    assert definition.default_schedule == "15 3 * * 2" and not definition.heavy
    assert sorted(definition.practices.values_list("code", flat=True)) == ["MLS-05", "MLS-06"]
    assert (f"Check: {KEY}", "checks.tasks.run_scheduled_check", "15 3 * * 2", [KEY]) in default_schedules()


def test_a_plugin_check_runs_through_the_api_task_and_services(plugin, project_with_card, api,
                                                               django_capture_on_commit_callbacks):
    run = run_through_the_api(api, project_with_card.lead, project_with_card.project, django_capture_on_commit_callbacks)
    assert run.status == "passed" and run.summary == "a model card is present"
    assert run.data["card"] == "MODEL_CARD.md" and run.trigger == "manual"
    evidence = Evidence.objects.filter(check_run=run, kind=EvidenceKind.CHECK)
    assert sorted(evidence.values_list("practice__code", flat=True)) == ["MLS-05", "MLS-06"]
    assert FINISHED == [(run.pk, "passed", "a model card is present", True)]
    listed = api(project_with_card.auditor).get("/api/v1/check-runs/", {"check": KEY}).data
    assert [r["id"] for r in listed["results"]] == [run.pk]


def test_a_plugin_check_turning_to_failed_is_a_verdict_like_any_other(plugin, project_with_card, api,
                                                                    django_capture_on_commit_callbacks):
    passed = run_through_the_api(api, project_with_card.lead, project_with_card.project,
                                 django_capture_on_commit_callbacks)
    os.remove(os.path.join(project_with_card.project.check_targets["source_path"], "MODEL_CARD.md"))
    failed = run_through_the_api(api, project_with_card.lead, project_with_card.project,
                                 django_capture_on_commit_callbacks)
    passed.refresh_from_db()
    assert failed.status == "failed" and failed.findings[0]["title"] == "no MODEL_CARD.md"
    assert passed.superseded_at is not None and failed.superseded_at is None


def test_a_plugin_check_without_a_target_is_skipped(plugin, org):
    (run,) = services.queue_runs(project=org.project, keys=[KEY])
    assert run.status == "skipped" and run.summary == "no target configured for this check"
    assert FINISHED == []


def test_a_plugin_check_out_of_time_ends_as_error_saying_which_limit(plugin, project_with_card):
    ModelCardCheck.slow = True
    (run,) = services.queue_runs(project=project_with_card.project, keys=[KEY])
    run = services.run_now(run)
    assert run.status == "error" and run.summary == "time limit of 45 s exceeded: the check could not decide"


def test_the_workers_soft_time_limit_leaves_the_runner_as_check_timed_out(tmp_path, monkeypatch):
    def interrupted(self, ctx):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(ModelCardCheck, "run", interrupted)
    ctx = CheckContext(CheckTargets(source_path=str(tmp_path)), allowed_roots=[str(tmp_path)])
    with pytest.raises(CheckTimedOut) as raised:
        run_check(KEY, ctx, registry={KEY: ModelCardCheck})
    assert isinstance(raised.value.__cause__, SoftTimeLimitExceeded)


def test_a_key_is_registered_once():
    class Impostor(ModelCardCheck):
        key = "source-secrets"

    with pytest.raises(ValueError, match="already registered"):
        registry.register(Impostor)
    assert registry.get_check("source-secrets").__name__ == "SourceSecretsCheck"


def test_after_the_test_the_plugin_is_gone():
    assert KEY not in registry.check_keys()
