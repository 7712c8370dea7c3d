"""Scan allowances, signing policies and the rescan after an upgrade, through the Django layer.

Roles are tried against objects inside and outside their scope; every change is audited.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from checks import policy_services, services
from checks.choices import RunStatus, Trigger
from checks.models import ArtifactBaseline, CheckRun, ScanAllowance
from checks.rescan import rescan_after_upgrade
from checks.scan_corpus import stack_global_form

CUSTOM = "acme_models.layers.Gate"


def set_targets(project, folder):
    project.check_targets = {"source_path": str(folder), "model_artifacts": [str(folder / "*")]}
    project.save(update_fields=["check_targets"])


def scan_now(project):
    (run,) = services.queue_runs(project=project, keys=["model-serialization"])
    run.refresh_from_db()
    return run if run.status != RunStatus.QUEUED else services.run_now(run)


def public_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# --- scan allowances ------------------------------------------------------------------------------

def test_a_reviewed_allowance_lets_only_its_own_teams_model_pass(org, team_dir):
    for project in (org.project, org.other_project):
        folder = team_dir(project.team)
        (folder / "model.pkl").write_bytes(stack_global_form(*CUSTOM.rsplit(".", 1)))
        set_targets(project, folder)
    assert scan_now(org.project).status == RunStatus.FAILED
    allowance = policy_services.scan_allowance_create(
        actor=org.officer, team=org.team, kind="pickle-global", name=CUSTOM,
        reason="Gate is our own layer: its __setstate__ only stores two tensors (reviewed in SEC-123).")
    mine = scan_now(org.project)
    assert mine.status == RunStatus.PASSED, mine.findings
    assert mine.data["files"]["model.pkl"]["allowed_by_team"] == [CUSTOM]
    assert scan_now(org.other_project).status == RunStatus.FAILED
    event = AuditEvent.objects.get(action="scan_allowance.create")
    assert event.actor_id == org.officer.pk and event.changes["after"]["name"] == CUSTOM
    assert allowance.reviewed_by == org.officer


@pytest.mark.parametrize("role", ["lead", "member", "auditor", "other_lead"])
def test_only_officers_and_admins_review_allowances(org, role):
    with pytest.raises(PermissionDenied):
        policy_services.scan_allowance_create(actor=getattr(org, role), team=org.team, kind="pickle-global",
                                              name=CUSTOM, reason="x" * 30)
    assert not ScanAllowance.objects.exists()


@pytest.mark.parametrize("name, reason", [
    ("os.system", "we really need it, reviewed by nobody"),
    ("builtins.eval", "needed for our config parser, reviewed"),
    ("mlflow.projects.backend.local._run_entry_point", "our MLflow setup needs this, reviewed"),
    ("numpy.ndarray", "already on the list, but added again anyway"),
    ("nodots", "a name without a module, reviewed carefully"),
    (CUSTOM, "too short"),
])
def test_known_code_execution_and_malformed_allowances_are_refused(org, name, reason):
    with pytest.raises(ValidationError):
        policy_services.scan_allowance_create(actor=org.officer, team=org.team, kind="pickle-global", name=name,
                                              reason=reason)
    assert not AuditEvent.objects.filter(action="scan_allowance.create").exists()


def test_the_allowance_api_is_scoped_and_refuses_writers_without_review_rights(org, api):
    body = {"team": org.team.pk, "kind": "pickle-global", "name": CUSTOM, "reason": "reviewed: stores tensors only"}
    assert api(org.lead).post("/api/v1/scan-allowances/", body, format="json").status_code == 403
    assert api(org.officer).post("/api/v1/scan-allowances/", {**body, "name": "os.system"},
                                 format="json").status_code == 400
    created = api(org.officer).post("/api/v1/scan-allowances/", body, format="json")
    assert created.status_code == 201, created.content
    assert api(org.officer).post("/api/v1/scan-allowances/", body, format="json").status_code == 400  # duplicate
    pk = created.json()["id"]
    assert api(org.member).get(f"/api/v1/scan-allowances/{pk}/").status_code == 200
    assert api(org.auditor).get("/api/v1/scan-allowances/").json()["count"] == 1
    assert api(org.other_lead).get(f"/api/v1/scan-allowances/{pk}/").status_code == 404
    assert api(org.other_lead).get("/api/v1/scan-allowances/").json()["count"] == 0
    assert api(org.lead).delete(f"/api/v1/scan-allowances/{pk}/").status_code == 403
    assert api(org.officer).delete(f"/api/v1/scan-allowances/{pk}/").status_code == 204
    assert AuditEvent.objects.filter(action="scan_allowance.delete").count() == 1


def test_the_allowance_list_costs_the_same_queries_for_one_row_and_many(org, api, django_assert_max_num_queries):
    policy_services.scan_allowance_create(actor=org.officer, team=org.team, kind="pickle-global", name=CUSTOM,
                                          reason="reviewed: stores tensors only")
    with django_assert_max_num_queries(8) as one:
        api(org.officer).get("/api/v1/scan-allowances/")
    for index in range(6):
        policy_services.scan_allowance_create(actor=org.officer, team=org.other_team, kind="onnx-domain",
                                              name=f"com.acme.ops{index}", reason="reviewed: a vendor op library")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert api(org.officer).get("/api/v1/scan-allowances/").json()["count"] == 7


# --- signing policy -------------------------------------------------------------------------------

def test_the_signing_policy_api_is_set_by_the_lead_or_an_officer_and_audited(org, api):
    body = {"required": True, "signers": [{"name": "release", "kind": "key", "material": public_pem()}]}
    url = f"/api/v1/projects/{org.project.pk}/signing-policy/"
    assert api(org.member).put(url, body, format="json").status_code == 403
    assert api(org.auditor).put(url, body, format="json").status_code == 403
    assert api(org.other_lead).put(url, body, format="json").status_code == 404
    assert api(org.other_lead).get(url).status_code == 404
    assert api(org.lead).put(url, {"required": True, "signers": []}, format="json").status_code == 400
    bad = {"required": False, "signers": [{"name": "x", "kind": "key", "material": "not a key"}]}
    assert api(org.lead).put(url, bad, format="json").status_code == 400
    answer = api(org.lead).put(url, body, format="json")
    assert answer.status_code == 200, answer.content
    assert api(org.member).get(url).json()["signers"][0]["name"] == "release"
    event = AuditEvent.objects.get(action="signing_policy.set")
    assert event.changes["after"]["signers"][0]["fingerprint"].startswith("sha256:")
    assert "BEGIN PUBLIC KEY" not in str(event.changes)


def test_a_required_signature_fails_model_integrity_of_an_unsigned_project(org, team_dir):
    folder = team_dir(org.team)
    (folder / "weights.bin").write_bytes(b"\0" * 16)
    set_targets(org.project, folder)
    policy_services.signing_policy_set(actor=org.officer, project=org.project, required=True,
                                       signers=[{"name": "release", "kind": "key", "material": public_pem()}])
    (run,) = services.queue_runs(project=org.project, keys=["model-integrity"])
    run = services.run_now(run)
    assert run.status == RunStatus.FAILED
    assert any(f["title"] == f"model not signed: {folder.name}" for f in run.findings), run.findings
    assert not ArtifactBaseline.objects.filter(project=org.project).exists()  # never baselined unsigned


# --- rescan after an upgrade (done-when item 4) ----------------------------------------------------

def test_after_a_version_bump_the_rescan_covers_current_verdicts_only_and_reports_changes(org, team_dir, monkeypatch):
    from checks.runners import artifact_scan

    for project, name in ((org.project, "a"), (org.other_project, "b")):
        folder = team_dir(project.team)
        (folder / "model.pkl").write_bytes(stack_global_form(*CUSTOM.rsplit(".", 1)))
        set_targets(project, folder)
    policy_services.scan_allowance_create(actor=org.officer, team=org.team, kind="pickle-global", name=CUSTOM,
                                          reason="reviewed: stores tensors only (SEC-1)")
    old_current = scan_now(org.project)
    assert old_current.status == RunStatus.PASSED
    older = CheckRun.objects.filter(project=org.project, definition_id="model-serialization").exclude(
        pk=old_current.pk)
    assert not older.exists()
    up_to_date = scan_now(org.other_project)  # failed, made with the installed versions
    assert up_to_date.status == RunStatus.FAILED

    nothing = rescan_after_upgrade()
    assert nothing.rescanned == [] and nothing.unchanged_versions == 2

    # The scanner is upgraded (its recorded version bumps) and the team's allowance was withdrawn. The
    # bump is made in this process, so the runner runs here too (as the sandbox's child would).
    from checks.runners import sandbox

    monkeypatch.setattr(sandbox, "in_child", lambda: True)
    monkeypatch.setattr(artifact_scan, "SCANNER_VERSION", "2099.1.0")
    ScanAllowance.objects.all().delete()
    report = rescan_after_upgrade()
    assert len(report.rescanned) == 2
    new = CheckRun.objects.get(pk=next(pk for pk in report.rescanned
                                       if CheckRun.objects.get(pk=pk).project_id == org.project.pk))
    assert new.trigger == Trigger.RESCAN and new.data["scanners"]["mlsec parsers"] == "2099.1.0"
    (change,) = report.changes
    assert change["project"] == org.project.pk and change["status"] == ["passed", "failed"]
    assert change["files"] == {"model.pkl": ["clean", "dangerous"]}
    assert change["versions"]["mlsec parsers"][1] == "2099.1.0"
    assert AuditEvent.objects.filter(action="checks.rescan").count() == 2
    again = rescan_after_upgrade()
    assert again.rescanned == [] and again.unchanged_versions == 2  # superseded runs are never rescanned


def test_archived_projects_are_not_rescanned(org, team_dir, monkeypatch):
    from django.utils import timezone

    from checks.runners import artifact_scan

    folder = team_dir(org.team)
    (folder / "model.pkl").write_bytes(b"\x80\x04N.")
    set_targets(org.project, folder)
    scan_now(org.project)
    org.project.archived_at = timezone.now()
    org.project.save(update_fields=["archived_at"])
    monkeypatch.setattr(artifact_scan, "SCANNER_VERSION", "2099.1.0")
    assert rescan_after_upgrade().rescanned == []


# --- the page -------------------------------------------------------------------------------------

def test_the_allowances_page_lets_officers_add_and_remove_and_shows_each_team_its_own(org, web):
    page = web(org.officer).post("/checks/scan-allowances/", {
        "team": org.team.pk, "kind": "pickle-global", "name": CUSTOM, "reason": "reviewed: stores two tensors only"})
    assert page.status_code == 302
    allowance = ScanAllowance.objects.get()
    assert CUSTOM in web(org.member).get("/checks/scan-allowances/").content.decode()
    assert CUSTOM not in web(org.other_lead).get("/checks/scan-allowances/").content.decode()
    assert web(org.other_lead).post(f"/checks/scan-allowances/{allowance.pk}/delete/").status_code == 404
    assert web(org.lead).post(f"/checks/scan-allowances/{allowance.pk}/delete/").status_code == 403
    assert web(org.officer).post(f"/checks/scan-allowances/{allowance.pk}/delete/").status_code == 302
    assert not ScanAllowance.objects.exists()


def test_the_allowances_page_refuses_a_code_executing_name_with_a_sentence_and_a_lead_cannot_post(org, web):
    refused = web(org.officer).post("/checks/scan-allowances/", {
        "team": org.team.pk, "kind": "pickle-global", "name": "subprocess.Popen", "reason": "x" * 30})
    assert refused.status_code == 400 and "known to execute code" in refused.content.decode()
    lead = web(org.lead).post("/checks/scan-allowances/", {
        "team": org.team.pk, "kind": "pickle-global", "name": CUSTOM, "reason": "x" * 30})
    assert lead.status_code == 403
    assert not ScanAllowance.objects.exists()


def test_the_allowances_page_costs_the_same_queries_for_one_row_and_many(org, web, django_assert_max_num_queries):
    policy_services.scan_allowance_create(actor=org.officer, team=org.team, kind="pickle-global", name=CUSTOM,
                                          reason="reviewed: stores tensors only")
    client = web(org.officer)
    with django_assert_max_num_queries(30) as one:
        client.get("/checks/scan-allowances/")
    for index in range(6):
        policy_services.scan_allowance_create(actor=org.officer, team=org.other_team, kind="onnx-domain",
                                              name=f"com.acme.ops{index}", reason="reviewed: a vendor op library")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get("/checks/scan-allowances/").status_code == 200
