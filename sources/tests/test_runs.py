"""Materialise, check, discard: the workspace goes whatever happens; the time limit is an error, not a crash."""

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from checks import services
from checks.freshness import EvidenceFreshnessCheck
from sources import runs
from sources import services as source_services


def test_a_time_limit_during_a_fetch_removes_the_workspace_and_reaches_the_task(org, workspaces, monkeypatch):
    source_services.source_create(actor=org.lead, project=org.project, kind="git", name="slow",
                                  config={"url": "https://git.example.com/slow.git"})

    def slow_fetch(source, workspace, limits):
        (open(f"{workspace}/half-written", "wb")).close()
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(runs, "materialise", slow_fetch)
    with pytest.raises(SoftTimeLimitExceeded):
        runs.execute(org.project, "source-secrets")
    assert list(workspaces.iterdir()) == []


def test_a_time_limit_inside_a_check_ends_the_run_as_error_saying_so(org, monkeypatch):
    def too_slow(self, ctx):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(EvidenceFreshnessCheck, "run", too_slow)
    (run,) = services.queue_runs(project=org.project, keys=["evidence-freshness"])
    run = services.run_now(run)
    assert run.status == "error" and run.summary == "time limit of 60 s exceeded: the check could not decide"


def test_a_check_declares_what_it_reads_and_needs(org):
    from checks.context import context_for
    from checks.registry import registry

    assert registry()["model-serialization"].source_kinds == ("path", "git", "s3", "mlflow")
    assert registry()["endpoint-transport"].source_kinds == ("endpoint",)
    assert context_for(org.project, "dependency-vulnerabilities").advisories is not None
    assert context_for(org.project, "source-secrets").advisories is None
    assert context_for(org.project, "model-serialization").allowances is not None
