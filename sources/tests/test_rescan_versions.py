"""The rescan after a scanner upgrade targets the current version of each model asset (issue 18, done-when 4):
a superseded version is never rescanned, whatever its scanner record says; projects without an inventory
keep the project-run path. Real S3 (moto server), real scans."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from checks import policy_services
from checks.choices import RunStatus, Trigger
from checks.models import CheckRun, ScanAllowance
from checks.rescan import current_targets, rescan_after_upgrade
from checks.scan_corpus import memo_form, stack_global_form
from sources.assets import source_sync
from sources.models import AssetVersion
from sources.tests.conftest import run_now
from sources.tests.test_s3_sources import s3_source

CUSTOM = "acme_models.layers.Gate"


@pytest.fixture
def versions(org, workspaces, s3_server, team_dir):
    """Two versions of one S3 model (both scanned clean under the team's allowance) and a project without an
    inventory whose model (the same custom global, no allowance for its team) failed."""
    policy_services.scan_allowance_create(actor=org.officer, team=org.team, kind="pickle-global", name=CUSTOM,
                                          reason="reviewed: stores tensors only (SEC-1)")
    bucket = s3_server.create_bucket(versioned=True)
    bucket.put("models/gate.pkl", stack_global_form(*CUSTOM.rsplit(".", 1)))
    source = s3_source(org.project, org.lead, s3_server, bucket.name)
    (old,) = source_sync(source)
    bucket.put("models/gate.pkl", memo_form(*CUSTOM.rsplit(".", 1), 1))  # other bytes, same import
    (current,) = source_sync(source)
    folder = team_dir(org.other_team)
    (folder / "model.pkl").write_bytes(stack_global_form(*CUSTOM.rsplit(".", 1)))
    org.other_project.check_targets = {"source_path": str(folder), "model_artifacts": [str(folder / "*")]}
    org.other_project.save(update_fields=["check_targets"])
    plain = run_now(org.other_project, "model-serialization")
    assert plain.status == RunStatus.FAILED, (plain.summary, plain.findings)
    old.refresh_from_db()
    current.refresh_from_db()
    assert old.version != current.version
    assert [old.verdicts["model-serialization"]["status"], current.verdicts["model-serialization"]["status"]] == [
        "passed", "passed"], (old.verdicts, current.verdicts)
    return org, old, current, plain


def verdict_run(version) -> int:
    version.refresh_from_db()
    return version.verdicts["model-serialization"]["run"]


def test_the_targets_are_the_current_version_and_the_project_without_an_inventory(versions):
    org, old, current, plain = versions
    targets = list(current_targets())
    assert [(t.version.pk if t.version else None, t.previous.pk) for t in targets] == [
        (current.pk, verdict_run(current)), (None, plain.pk)]


def test_after_a_scanner_bump_only_current_versions_are_rescanned_and_changes_reported(versions, monkeypatch):
    from checks.runners import artifact_scan, sandbox

    org, old, current, plain = versions
    old_run = CheckRun.objects.get(pk=verdict_run(old))
    old_run.data = {**old_run.data, "scanners": {**old_run.data["scanners"], "mlsec parsers": "0.0.1"}}
    old_run.save(update_fields=["data"])  # the superseded version's record is stale: still not a target
    nothing = rescan_after_upgrade()
    assert nothing.rescanned == [] and nothing.unchanged_versions == 2

    # The scanner is upgraded (its recorded version bumps) and the allowance withdrawn; the runner runs in
    # this process (as the sandbox's child would) so that the bump is seen.
    monkeypatch.setattr(sandbox, "in_child", lambda: True)
    monkeypatch.setattr(artifact_scan, "SCANNER_VERSION", "2099.1.0")
    ScanAllowance.objects.all().delete()
    before_old = verdict_run(old)
    report = rescan_after_upgrade()

    assert len(report.rescanned) == 2  # the current version and the project without an inventory
    assert verdict_run(old) == before_old  # the superseded version was not fetched nor scanned again
    rescanned = CheckRun.objects.get(pk=verdict_run(current))
    assert rescanned.pk in report.rescanned and rescanned.trigger == Trigger.RESCAN
    assert rescanned.revision["objects"][0]["version_id"] == current.version  # that exact S3 version
    assert rescanned.data["scanners"]["mlsec parsers"] == "2099.1.0"
    current.refresh_from_db()
    assert current.verdicts["model-serialization"]["status"] == "failed"
    (change,) = report.changes  # the other project failed before and after: no change to report
    assert change["asset"] == current.asset_id and change["version"] == current.version
    assert change["status"] == ["passed", "failed"] and change["previous_run"] != rescanned.pk
    assert list(change["files"].values()) == [["clean", "dangerous"]]
    assert change["versions"]["mlsec parsers"][1] == "2099.1.0"
    assert AuditEvent.objects.filter(action="checks.rescan").count() == 2

    again = rescan_after_upgrade()
    assert again.rescanned == [] and again.unchanged_versions == 2


def test_an_archived_projects_versions_are_not_rescanned(versions, monkeypatch):
    from django.utils import timezone

    from checks.runners import artifact_scan

    org, old, current, plain = versions
    org.project.archived_at = timezone.now()
    org.project.save(update_fields=["archived_at"])
    monkeypatch.setattr(artifact_scan, "SCANNER_VERSION", "2099.1.0")
    assert [t.version for t in current_targets()] == [None]
    assert AssetVersion.objects.filter(asset__project=org.project).count() == 2
