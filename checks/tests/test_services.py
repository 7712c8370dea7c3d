"""The Django side of the checks: queueing, claiming, verdicts, evidence, baselines, reaping, notifying."""

import datetime as dt
import json
import os
import pickle
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment
from checks import services
from checks.models import Advisory, ArtifactBaseline, CheckRun
from checks.runners.base import CheckResult, Finding
from evidence.models import Evidence, EvidenceKind, EvidenceStatus
from scoring.services import scorecard_for


def set_targets(project, **targets):
    project.check_targets = targets
    project.save(update_fields=["check_targets"])


def practice_score(team, code):
    team_score = scorecard_for([team]).teams[0]
    return next(p for p in team_score.practices if p.practice.code == code)


def finish(project, key, status, summary="", findings=()):
    """A run that went through the real claim and finish path with a given result."""
    (run,) = services.queue_runs(project=project, keys=[key])
    claimed = services.claim_run(run.pk)
    return services.finish_run(claimed, CheckResult(status, summary or status, list(findings)))


class Pickled:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_queueing_twice_gives_the_same_active_run(org):
    set_targets(org.project, source_path="/tmp")
    first = services.queue_runs(project=org.project, keys=["source-secrets"])
    second = services.queue_runs(project=org.project, keys=["source-secrets"])
    assert first[0].pk == second[0].pk and first[0].status == "queued"
    assert CheckRun.objects.filter(project=org.project).count() == 1


def test_two_concurrent_claims_produce_one_running_run(org):
    set_targets(org.project, source_path="/tmp")
    (run,) = services.queue_runs(project=org.project, keys=["source-secrets"])
    assert services.claim_run(run.pk) is not None
    assert services.claim_run(run.pk) is None


def test_unknown_checks_are_refused(org):
    with pytest.raises(ValidationError):
        services.queue_runs(project=org.project, keys=["port-scan"])


def test_opted_out_and_untargeted_checks_are_skipped_with_a_reason(org):
    org.project.check_opt_outs = {"endpoint-authentication": "Batch model without any serving endpoint."}
    org.project.save()
    runs = {r.definition_id: r for r in services.queue_runs(project=org.project)}
    assert runs["endpoint-authentication"].status == "skipped"
    assert runs["endpoint-authentication"].summary.startswith("opted out: Batch model")
    assert runs["model-serialization"].summary == "no target configured for this check"
    assert runs["evidence-freshness"].status == "queued"  # it needs no target


def test_only_people_in_scope_who_may_act_can_queue_checks(org):
    set_targets(org.project, source_path="/tmp")
    with pytest.raises(PermissionDenied):
        services.queue_runs(project=org.project, keys=["source-secrets"], actor=org.auditor)
    assert services.queue_runs(project=org.project, keys=["source-secrets"], actor=org.member)


def test_a_finished_run_is_evidence_for_each_practice_it_covers_linked_both_ways(org):
    set_targets(org.project, endpoint_url="https://model.internal/v1")
    run = finish(org.project, "endpoint-transport", "passed")
    evidence = list(run.evidence.order_by("practice__code"))
    assert [e.practice.code for e in evidence] == ["MLS-01", "MLS-07", "MLS-22"]
    assert all(e.kind == EvidenceKind.CHECK and e.check_run_id == run.pk for e in evidence)
    again = finish(org.project, "endpoint-transport", "failed")
    newest = Evidence.objects.get(check_run=again, practice__code="MLS-01")
    assert newest.version == 2 and newest.previous.check_run_id == run.pk
    assert Evidence.objects.get(check_run=run, practice__code="MLS-01").superseded_at is not None


def test_a_failing_check_caps_its_practices_until_a_later_run_passes(org):
    make_assessment(org.project, levels=4, status=AssessmentStatus.APPROVED)
    set_targets(org.project, dependency_files=["/tmp/requirements.txt"])
    assert practice_score(org.team, "MLS-03").score == 100.0
    finish(org.project, "dependency-vulnerabilities", "failed")
    assert practice_score(org.team, "MLS-03").score == 25.0
    finish(org.project, "dependency-vulnerabilities", "error")  # undecided: the cap stays
    assert practice_score(org.team, "MLS-03").score == 25.0
    finish(org.project, "dependency-vulnerabilities", "passed")
    lifted = practice_score(org.team, "MLS-03")
    assert lifted.score == 100.0 and lifted.capped == 0 and lifted.verified == 100.0


def test_leads_and_officers_are_told_once_when_a_check_starts_failing(org, django_capture_on_commit_callbacks):
    set_targets(org.project, source_path="/tmp")
    finding = Finding("high", "AWS access key", "found by detect-secrets", "app/settings.py:12")
    with django_capture_on_commit_callbacks(execute=True):
        finish(org.project, "source-secrets", "failed", "1 secret found", [finding])
    # One message per person, through the notifications outbox (docs/workflow.md).
    assert sorted(m.to[0] for m in mail.outbox) == ["lead@example.org", "officer@example.org"]
    message = mail.outbox[0]
    assert "now failing on Card fraud scorer" in message.subject and "app/settings.py:12" in message.body
    with django_capture_on_commit_callbacks(execute=True):
        finish(org.project, "source-secrets", "failed", "1 secret found", [finding])  # still failing: no news
        finish(org.project, "source-secrets", "error")
    assert len(mail.outbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        finish(org.project, "source-secrets", "passed")  # recovered: told once
        finish(org.project, "source-secrets", "failed", "a new secret")
    subjects = [m.subject for m in mail.outbox[2:]]
    assert len(subjects) == 4 and sum("passes again" in s for s in subjects) == 2


def test_the_webhook_receives_a_failing_check(org, settings, django_capture_on_commit_callbacks):
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    settings.MLSEC_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    set_targets(org.project, source_path="/tmp")
    with django_capture_on_commit_callbacks(execute=True):
        run = finish(org.project, "source-static-analysis", "failed", "2 high-severity issues")
    thread.join(5)
    server.server_close()
    assert received and received[0]["event"] == "check.failing"
    assert received[0]["object"] == {"type": "checks.checkrun", "id": str(run.pk)}


def test_the_reaper_ends_abandoned_and_forgotten_runs_as_error(org):
    set_targets(org.project, source_path="/tmp", endpoint_url="https://x.internal/")
    running, fresh = services.queue_runs(project=org.project, keys=["source-secrets", "endpoint-transport"])
    services.claim_run(running.pk)
    services.claim_run(fresh.pk)
    CheckRun.objects.filter(pk=running.pk).update(started_at=timezone.now() - dt.timedelta(seconds=300 + 121))
    forgotten = CheckRun.objects.create(project=org.project, definition_id="evidence-freshness")
    CheckRun.objects.filter(pk=forgotten.pk).update(created_at=timezone.now() - dt.timedelta(hours=7))
    assert services.reap_stale_runs() == 2
    running.refresh_from_db()
    assert running.status == "error" and "abandoned" in running.summary
    assert CheckRun.objects.get(pk=forgotten.pk).status == "error"
    assert CheckRun.objects.get(pk=fresh.pk).status == "running"
    # a reaped run that comes back later changes nothing
    assert services.finish_run(running, CheckResult("passed", "late")).status == "error"


def test_a_crashing_check_ends_as_error_and_the_others_still_run(org, monkeypatch, team_dir):
    from checks.runners import sandbox
    from checks.runners.source_secrets import SourceSecretsCheck

    tmp_path = team_dir(org.team)
    monkeypatch.setattr(sandbox, "in_child", lambda: True)  # the patched `run` below lives in this process
    (tmp_path / "app.py").write_text("print('hello')\n")
    set_targets(org.project, source_path=str(tmp_path))

    def explode(self, ctx):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(SourceSecretsCheck, "run", explode)
    runs = services.queue_runs(project=org.project, keys=["source-secrets", "source-static-analysis"])
    results = {r.definition_id: services.run_now(r) for r in runs}
    assert results["source-secrets"].status == "error" and "RuntimeError" in results["source-secrets"].summary
    assert results["source-static-analysis"].status == "passed"


def test_dependency_check_uses_imported_advisories_and_errors_without_them(org, team_dir):
    tmp_path = team_dir(org.team)
    (tmp_path / "requirements.txt").write_text("numpy==1.21.0  # pinned\nrequests[socks]==2.31.0\n")
    set_targets(org.project, dependency_files=[str(tmp_path / "requirements.txt")])
    (run,) = services.queue_runs(project=org.project, keys=["dependency-vulnerabilities"])
    run = services.run_now(run)
    assert run.status == "error" and "advisory" in run.summary
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "GHSA-demo-numpy.json").write_text(json.dumps({
        "id": "GHSA-fx5c-h9f6-rv7c", "aliases": ["CVE-2021-34141"], "modified": "2024-01-01T00:00:00Z",
        "summary": "Incorrect comparison in numpy.core",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "NumPy"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.22.0"}]}]}],
    }))
    call_command("import_advisories", str(osv))
    call_command("import_advisories", str(osv))  # idempotent
    assert Advisory.objects.count() == 1
    (run,) = services.queue_runs(project=org.project, keys=["dependency-vulnerabilities"])
    run = services.run_now(run)
    assert run.status == "failed"
    assert any("GHSA-fx5c-h9f6-rv7c" in f["title"] and "1.22.0" in f["detail"] for f in run.findings)


def test_model_integrity_records_a_baseline_fails_on_change_and_passes_after_reapproval(
        org, team_dir, django_capture_on_commit_callbacks):
    tmp_path = team_dir(org.team)
    model = tmp_path / "model.safetensors"
    model.write_bytes(b"weights v1")
    set_targets(org.project, model_artifacts=[str(tmp_path / "*.safetensors")])
    (run,) = services.queue_runs(project=org.project, keys=["model-integrity"])
    assert services.run_now(run).status == "passed"
    assert len(ArtifactBaseline.objects.get(project=org.project).artifacts) == 1
    model.write_bytes(b"weights v2 - swapped")
    (run,) = services.queue_runs(project=org.project, keys=["model-integrity"])
    run = services.run_now(run)
    assert run.status == "failed" and "model.safetensors" in json.dumps(run.findings)
    with pytest.raises(PermissionDenied):
        services.baseline_approval_request(actor=org.member, project=org.project)
    with django_capture_on_commit_callbacks(execute=True):  # the worker's part, run eagerly here
        services.baseline_approval_request(actor=org.lead, project=org.project)
    (run,) = services.queue_runs(project=org.project, keys=["model-integrity"])
    assert services.run_now(run).status == "passed"


def test_model_serialization_fails_on_a_malicious_pickle_through_the_pipeline(org, team_dir):
    tmp_path = team_dir(org.team)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(Pickled()))  # written, never loaded
    set_targets(org.project, model_artifacts=[str(tmp_path / "model.pkl")])
    (run,) = services.queue_runs(project=org.project, keys=["model-serialization"])
    run = services.run_now(run)
    assert run.status == "failed" and "system" in json.dumps(run.findings)


def test_evidence_freshness_wants_recent_accepted_evidence(org):
    (run,) = services.queue_runs(project=org.project, keys=["evidence-freshness"])
    run = services.run_now(run)
    assert run.status == "failed" and "MLS-17: no accepted evidence" in json.dumps(run.findings)
    from controls.models import Practice

    for code in ("MLS-08", "MLS-10", "MLS-17", "MLS-25"):
        Evidence.objects.create(project=org.project, practice=Practice.objects.get(code=code), kind=EvidenceKind.NOTE,
                                title="Record", text="…", status=EvidenceStatus.ACCEPTED, reviewed_at=timezone.now())
    stale = Evidence.objects.get(practice__code="MLS-17", project=org.project, kind=EvidenceKind.NOTE)
    Evidence.objects.filter(pk=stale.pk).update(created_at=timezone.now() - dt.timedelta(days=400))
    (run,) = services.queue_runs(project=org.project, keys=["evidence-freshness"])
    run = services.run_now(run)
    assert run.status == "failed" and "MLS-17: evidence is 400 days old" in json.dumps(run.findings)
    Evidence.objects.filter(pk=stale.pk).update(created_at=timezone.now())
    (run,) = services.queue_runs(project=org.project, keys=["evidence-freshness"])
    assert services.run_now(run).status == "passed"


def test_run_checks_command_runs_synchronously(org, team_dir, capsys):
    tmp_path = team_dir(org.team)
    (tmp_path / "app.py").write_text("import subprocess\nsubprocess.call(input(), shell=True)\n")
    set_targets(org.project, source_path=str(tmp_path))
    call_command("run_checks", "--project", str(org.project.pk), "--check", "source-static-analysis", "--sync")
    run = CheckRun.objects.get(project=org.project, definition_id="source-static-analysis")
    assert run.status == "failed" and any("B602" in f["title"] or "B602" in f["detail"] for f in run.findings)


def test_scheduled_dispatch_queues_only_where_the_check_applies(org):
    set_targets(org.project, source_path="/tmp")
    assert services.dispatch_scheduled("source-secrets") == 1
    assert services.dispatch_scheduled("source-secrets") == 1  # returns the active run, no duplicate
    assert CheckRun.objects.filter(definition_id="source-secrets").count() == 1


def test_pruning_keeps_the_verdicts_that_count(org):
    set_targets(org.project, source_path="/tmp")
    old_pass = finish(org.project, "source-secrets", "passed")
    current = finish(org.project, "source-secrets", "failed")
    long_ago = timezone.now() - dt.timedelta(days=500)
    CheckRun.objects.filter(pk__in=[old_pass.pk, current.pk]).update(finished_at=long_ago)
    result = services.prune_history(retention_days=400)
    assert result["check_runs"] >= 1
    assert not CheckRun.objects.filter(pk=old_pass.pk).exists()
    assert CheckRun.objects.filter(pk=current.pk).exists()
