"""An export's life: scope checked when it is built and when it is downloaded, failures told as
sentences with a Retry, stuck builds reaped, and downloads checked against their SHA-256."""

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.choices import OrgRole
from accounts.models import Membership
from audit.models import AuditEvent
from evidence import storage
from evidence.models import Evidence
from reports import services
from reports.models import Report

SECRET = b"Red-team notes: the scorer accepted unsigned model files until 3 Nov.\n"


def request(user, django_capture_on_commit_callbacks, *, build=True, **kwargs) -> Report:
    """Ask for an export as `user`; with build=False the worker has not run yet."""
    with django_capture_on_commit_callbacks(execute=build):
        report = services.report_request(actor=user, **kwargs)
    return Report.objects.get(pk=report.pk)


def stored_files(settings) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT, "reports").rglob("*.bin")) if Path(
        settings.MEDIA_ROOT, "reports").exists() else []


# --- scope, when built and when downloaded -----------------------------------------------------------

def test_a_lead_who_left_the_team_after_asking_gets_no_export_built(org, django_capture_on_commit_callbacks, settings):
    report = request(org.lead, django_capture_on_commit_callbacks, build=False, scope="team", team=org.team,
                     format="csv")
    Membership.objects.filter(user=org.lead, team=org.team).delete()
    services.report_build(report.pk)
    report.refresh_from_db()
    assert report.status == "failed" and not report.storage_name and stored_files(settings) == []
    assert report.error.startswith("lead can no longer export Fraud detection"), report.error


def test_an_officer_demoted_before_the_build_gets_no_organisation_export(org, django_capture_on_commit_callbacks):
    report = request(org.officer, django_capture_on_commit_callbacks, build=False, scope="org", format="json")
    org.officer.org_role = OrgRole.NONE
    org.officer.save()
    services.report_build(report.pk)
    report.refresh_from_db()
    assert report.status == "failed" and "can no longer export Organisation" in report.error


def test_a_requester_deactivated_before_the_build_gets_no_export(org, django_capture_on_commit_callbacks):
    report = request(org.auditor, django_capture_on_commit_callbacks, build=False, scope="org", format="csv")
    org.auditor.is_active = False
    org.auditor.save()
    services.report_build(report.pk)
    report.refresh_from_db()
    assert report.status == "failed" and "can no longer export" in report.error


def test_a_lead_who_left_the_team_can_no_longer_see_or_download_its_ready_export(
        org, api, client, django_capture_on_commit_callbacks):
    report = request(org.lead, django_capture_on_commit_callbacks, scope="project", project=org.project, format="csv")
    assert report.status == "ready"
    assert api(org.lead).get(f"/api/v1/reports/{report.pk}/download/").status_code == 200
    Membership.objects.filter(user=org.lead, team=org.team).delete()
    lead = api(org.lead)
    assert lead.get(f"/api/v1/reports/{report.pk}/download/").status_code == 404
    assert lead.get(f"/api/v1/reports/{report.pk}/").status_code == 404
    assert lead.get("/api/v1/reports/").json()["results"] == []
    client.force_login(org.lead)
    assert client.get(f"/reports/{report.pk}/download/").status_code == 404
    assert str(report.pk) not in client.get("/reports/").content.decode()
    assert api(org.auditor).get(f"/api/v1/reports/{report.pk}/download/").status_code == 200  # still the auditor's


# --- failures: a sentence and a Retry -----------------------------------------------------------------

@pytest.fixture
def tampered(org, api, settings):
    """A team whose evidence file was replaced on disk by someone holding the key."""
    response = api(org.lead).post("/api/v1/evidence/", {
        "project": org.project.pk, "practice": "MLS-17", "kind": "file", "title": "Red-team notes",
        "file": SimpleUploadedFile("notes.txt", SECRET)}, format="multipart")
    evidence = Evidence.objects.get(pk=response.data["id"])
    path = Path(settings.MEDIA_ROOT) / evidence.storage_name
    original = path.read_bytes()
    path.write_bytes(storage.encrypt(b"all findings closed"))
    return evidence, path, original


def test_a_failed_export_says_why_in_a_sentence_and_offers_a_retry_on_the_page_and_the_api(
        org, api, client, tampered, django_capture_on_commit_callbacks):
    evidence, path, original = tampered
    report = request(org.auditor, django_capture_on_commit_callbacks, scope="team", team=org.team, format="zip")
    assert report.status == "failed"
    body = api(org.auditor).get(f"/api/v1/reports/{report.pk}/").json()
    assert body["error"].startswith(f"Evidence #{evidence.pk} “Red-team notes”: The stored file does not match")
    assert "Error:" not in body["error"] and "Traceback" not in body["error"]
    assert body["retry"] == f"/api/v1/reports/{report.pk}/retry/" and body["download"] is None
    client.force_login(org.auditor)
    page = client.get("/reports/").content.decode()
    assert "The stored file does not match its recorded SHA-256" in page
    assert f'action="/reports/{report.pk}/retry/"' in page and ">Retry</button>" in page

    path.write_bytes(original)  # the administrator restored the file
    with django_capture_on_commit_callbacks(execute=True):
        response = api(org.auditor).post(f"/api/v1/reports/{report.pk}/retry/")
    assert response.status_code == 202, response.json()
    report.refresh_from_db()
    assert report.status == "ready" and report.error == ""
    assert AuditEvent.objects.filter(action="report.retry", object_id=str(report.pk)).count() == 1


def test_retry_through_the_page_queues_the_export_again(org, client, tampered, django_capture_on_commit_callbacks):
    evidence, path, original = tampered
    report = request(org.lead, django_capture_on_commit_callbacks, scope="team", team=org.team, format="zip")
    assert report.status == "failed"
    path.write_bytes(original)
    client.force_login(org.lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/reports/{report.pk}/retry/")
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "ready"


def test_only_the_requester_retries_and_a_second_click_queues_nothing_more(
        org, api, tampered, django_capture_on_commit_callbacks):
    report = request(org.auditor, django_capture_on_commit_callbacks, scope="team", team=org.team, format="zip")
    officer = api(org.officer)
    assert officer.get(f"/api/v1/reports/{report.pk}/").json()["retry"] is None
    assert officer.post(f"/api/v1/reports/{report.pk}/retry/").status_code == 403
    assert api(org.other_lead).post(f"/api/v1/reports/{report.pk}/retry/").status_code == 404
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not picked it up yet
        assert api(org.auditor).post(f"/api/v1/reports/{report.pk}/retry/").status_code == 202
        second = api(org.auditor).post(f"/api/v1/reports/{report.pk}/retry/")
    assert second.status_code == 400 and "Only a failed export can be retried" in second.json()["detail"]
    assert AuditEvent.objects.filter(action="report.retry").count() == 1


def test_an_unexpected_error_is_told_as_a_sentence_with_a_reference_never_as_the_exception(
        org, api, settings, django_capture_on_commit_callbacks):
    settings.MLSEC_SIGNING_KEY = "/nonexistent/signing-key.pem"  # a misconfigured worker
    report = request(org.auditor, django_capture_on_commit_callbacks, scope="org", format="zip")
    assert report.status == "failed"
    assert report.error.startswith("The export could not be built because of an unexpected error (reference "
                                   f"{str(report.pk)[:8]})")
    assert "FileNotFoundError" not in report.error and "/nonexistent" not in report.error


# --- the reaper -----------------------------------------------------------------------------------------

def test_an_export_stuck_running_after_its_worker_died_is_failed_by_the_reaper(org, client,
                                                                               django_capture_on_commit_callbacks):
    stuck = request(org.auditor, django_capture_on_commit_callbacks, build=False, scope="org", format="pdf")
    fresh = request(org.auditor, django_capture_on_commit_callbacks, build=False, scope="org", format="csv")
    forgotten = request(org.auditor, django_capture_on_commit_callbacks, build=False, scope="org", format="json")
    now = timezone.now()
    Report.objects.filter(pk=stuck.pk).update(status="running", started_at=now - dt.timedelta(minutes=40), progress=20)
    Report.objects.filter(pk=fresh.pk).update(status="running", started_at=now - dt.timedelta(minutes=5))
    Report.objects.filter(pk=forgotten.pk).update(created_at=now - dt.timedelta(hours=7))
    client.force_login(org.auditor)
    assert str(stuck.pk) in client.get("/reports/").context["pending"]

    assert services.reap_stale_reports() == 2
    stuck.refresh_from_db()
    forgotten.refresh_from_db()
    assert stuck.status == "failed" and stuck.error.startswith("The worker building this export stopped")
    assert forgotten.status == "failed" and "No worker picked this export up" in forgotten.error
    assert Report.objects.get(pk=fresh.pk).status == "running"
    assert str(stuck.pk) not in client.get("/reports/").context["pending"]  # the page stops polling it
    assert services.reap_stale_reports() == 0


def test_a_build_that_was_reaped_while_it_ran_does_not_overwrite_the_failure(org, django_capture_on_commit_callbacks,
                                                                            settings, monkeypatch):
    """The worker was only slow: the reaper gave up on it, and its late result is discarded."""
    report = request(org.auditor, django_capture_on_commit_callbacks, build=False, scope="org", format="csv")
    real = services.build_dataset

    def reaped_meanwhile(**kwargs):
        services.reap_stale_reports(now=timezone.now() + services.RUNNING_TIMEOUT + dt.timedelta(seconds=1))
        return real(**kwargs)

    monkeypatch.setattr(services, "build_dataset", reaped_meanwhile)
    services.report_build(report.pk)
    report.refresh_from_db()
    assert report.status == "failed" and "stopped before it finished" in report.error
    assert not report.storage_name and stored_files(settings) == []


def test_the_reaper_is_scheduled_every_five_minutes_on_the_maintenance_queue(db):
    from django_celery_beat.models import PeriodicTask

    from mlsec_portal.celery import app
    from mlsec_portal.schedules import default_schedules, ensure_default_schedules

    assert ("Reap stuck exports", "reports.reap_stale_reports", "*/5 * * * *", []) in default_schedules()
    ensure_default_schedules()
    assert PeriodicTask.objects.get(name="Reap stuck exports").task == "reports.reap_stale_reports"
    app.loader.import_default_modules()  # what a worker does at start: autodiscover every tasks module
    assert app.tasks["reports.reap_stale_reports"].name == "reports.reap_stale_reports"
    assert app.amqp.router.route({}, "reports.reap_stale_reports")["queue"].name == "maintenance"


# --- downloads check the stored SHA-256 -------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["another export's frames", "truncated", "missing"])
def test_a_download_whose_stored_file_no_longer_matches_its_sha256_is_refused(
        org, api, client, settings, django_capture_on_commit_callbacks, damage):
    report = request(org.auditor, django_capture_on_commit_callbacks, scope="org", format="csv")
    other = request(org.auditor, django_capture_on_commit_callbacks, scope="team", team=org.team, format="csv")
    path = Path(settings.MEDIA_ROOT) / report.storage_name
    if damage == "another export's frames":
        path.write_bytes((Path(settings.MEDIA_ROOT) / other.storage_name).read_bytes())  # valid ciphertext
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.unlink()
    response = api(org.auditor).get(f"/api/v1/reports/{report.pk}/download/")
    assert response.status_code == 409, response.status_code
    assert "no longer matches the SHA-256" in response.json()["detail"]
    report.refresh_from_db()
    assert report.status == "failed" and "Retry" in report.error
    assert AuditEvent.objects.filter(action="report.integrity_failure", object_id=str(report.pk)).count() == 1
    client.force_login(org.auditor)
    assert client.get(f"/reports/{report.pk}/download/").status_code == 404  # no longer ready
    assert ">Retry</button>" in client.get("/reports/").content.decode()


def test_the_page_download_of_an_altered_export_answers_with_a_message_not_the_bytes(
        org, client, settings, django_capture_on_commit_callbacks):
    report = request(org.auditor, django_capture_on_commit_callbacks, scope="org", format="csv")
    path = Path(settings.MEDIA_ROOT) / report.storage_name
    path.write_bytes(path.read_bytes()[:-10])
    client.force_login(org.auditor)
    response = client.get(f"/reports/{report.pk}/download/", follow=True)
    assert response.redirect_chain and "no longer matches the SHA-256" in response.content.decode()


def test_a_file_swapped_between_the_check_and_the_send_is_never_delivered_whole(
        org, settings, django_capture_on_commit_callbacks):
    report = request(org.auditor, django_capture_on_commit_callbacks, scope="org", format="csv")
    other = request(org.auditor, django_capture_on_commit_callbacks, scope="team", team=org.team, format="csv")
    chunks = services.report_verified_chunks(report)  # checked: intact
    path = Path(settings.MEDIA_ROOT) / report.storage_name
    path.write_bytes((Path(settings.MEDIA_ROOT) / other.storage_name).read_bytes())  # swapped now
    sent = b"".join(chunks)
    assert len(sent) < report.size  # the last frame is held back: a short download, not a wrong one


def test_key_rotation_re_encrypts_the_stored_exports_the_reports_app_registered(
        org, api, settings, django_capture_on_commit_callbacks):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    report = request(org.auditor, django_capture_on_commit_callbacks, scope="org", format="csv")
    before = api(org.auditor).get(f"/api/v1/reports/{report.pk}/download/")
    settings.MLSEC_EVIDENCE_KEYS = [Fernet.generate_key().decode(), settings.MLSEC_EVIDENCE_KEYS[0]]
    call_command("rotate_evidence_key")
    settings.MLSEC_EVIDENCE_KEYS = settings.MLSEC_EVIDENCE_KEYS[:1]  # the old key is gone
    after = api(org.auditor).get(f"/api/v1/reports/{report.pk}/download/")
    assert after.status_code == 200 and b"".join(after.streaming_content) == b"".join(before.streaming_content)
    event = AuditEvent.objects.filter(action="evidence.rotate_key").latest("seq")
    assert event.changes["after"]["reports"] == 1
