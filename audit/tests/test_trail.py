"""The audit trail: append-only, hash-chained, verified by a command, read by officers and auditors."""

from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.utils import DatabaseError

from assessments import services
from audit.models import AppendOnlyError, AuditEvent
from audit.services import verify_chain
from conftest import require


@pytest.fixture
def trail(org):
    project = services.project_create(actor=org.lead, team=org.team, name="Chargeback predictor", slug="chargebacks")
    services.project_update(actor=org.lead, project=project, risk_tier="high")
    assessment = services.assessment_start(actor=org.member, project=project, cycle="2026-Q4")
    services.answer_update(actor=org.member, answer=assessment.answers.first(), level=2)
    return list(AuditEvent.objects.order_by("seq"))


@contextmanager
def bypassing_the_database_guard():
    """What an attacker with database access would do: on PostgreSQL, switch the append-only trigger off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks may block ALTER TABLE
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


def test_every_event_links_to_the_previous_one(trail):
    assert [e.seq for e in trail] == list(range(1, len(trail) + 1))
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(trail, trail[1:], strict=False))
    assert verify_chain().ok
    call_command("verify_audit_log")


def test_the_orm_refuses_to_change_or_delete_events(trail):
    event = trail[0]
    event.action = "nothing.happened"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_the_database_itself_refuses_raw_updates_on_postgresql(trail):
    # The trigger is PostgreSQL's (SQLite relies on the ORM guard above); CI runs on PostgreSQL.
    require(connection.vendor == "postgresql", "the append-only trigger exists on PostgreSQL only")
    with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE seq = 1")


def test_an_edited_event_is_detected_and_named(trail):
    with bypassing_the_database_guard() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_repr = 'something else' WHERE seq = %s", [trail[2].seq])
    report = verify_chain()
    assert not report.ok and report.first_broken_seq == trail[2].seq and "altered" in report.reason
    with pytest.raises(CommandError, match=f"#{trail[2].seq}"):
        call_command("verify_audit_log")


def test_a_deleted_event_is_detected(trail):
    with bypassing_the_database_guard() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [trail[1].seq])
    report = verify_chain()
    assert not report.ok and report.first_broken_seq == trail[1].seq and "missing" in report.reason


def test_deleting_the_newest_event_is_detected_too(trail):
    with bypassing_the_database_guard() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [trail[-1].seq])
    report = verify_chain()
    assert not report.ok and "removed" in report.reason


def test_a_rewritten_chain_is_detected_by_its_head(trail):
    """Recomputing every hash after an edit still fails: the head remembers the last hash."""
    with bypassing_the_database_guard() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_repr = 'x' WHERE seq = %s", [trail[-1].seq])
    event = AuditEvent.objects.get(seq=trail[-1].seq)
    new_hash = event.compute_hash()
    with bypassing_the_database_guard() as cursor:
        cursor.execute("UPDATE audit_auditevent SET hash = %s WHERE seq = %s", [new_hash, event.seq])
    assert not verify_chain().ok


def test_events_record_actor_before_after_and_ip(org, client):
    client.force_login(org.lead)
    client.post(f"/projects/{org.project.pk}/edit/", {
        "name": "Card fraud scorer v2", "risk_tier": "high", "lifecycle": "production", "data_classification": "internal",
    }, REMOTE_ADDR="203.0.113.9")
    event = AuditEvent.objects.get(action="project.update")
    assert event.actor == org.lead and event.ip == "203.0.113.9" and event.request_id
    assert event.changes["before"]["name"] == "Card fraud scorer"
    assert event.changes["after"]["name"] == "Card fraud scorer v2"


@pytest.mark.parametrize("role,status", [("officer", 200), ("auditor", 200), ("admin", 200), ("lead", 403),
                                         ("member", 403), ("other_lead", 403)])
def test_officers_auditors_and_administrators_read_the_trail(trail, org, api, role, status):
    assert api(getattr(org, role)).get("/api/v1/audit-events/").status_code == status
    assert api().get("/api/v1/audit-events/").status_code == 401


def test_the_trail_filters_by_actor_object_and_date(trail, org, api):
    client = api(org.auditor)
    by_actor = client.get("/api/v1/audit-events/?actor=member").data["results"]
    assert by_actor and {e["actor"] for e in by_actor} == {"member"}
    project = next(e for e in trail if e.action == "project.create")
    by_object = client.get(f"/api/v1/audit-events/?object_type={project.object_type}&object_id={project.object_id}").data
    assert {e["action"] for e in by_object["results"]} == {"project.create", "project.update"}
    assert client.get("/api/v1/audit-events/?since=2999-01-01").data["count"] == 0
    assert client.get("/api/v1/audit-events/?since=not-a-date").status_code == 400
    first = client.get("/api/v1/audit-events/").data["results"][-1]
    assert set(first) >= {"seq", "at", "actor", "action", "object_type", "object_id", "changes", "ip", "hash", "prev_hash"}


def test_the_audit_log_page_is_for_officers_auditors_and_administrators(trail, org, client):
    client.force_login(org.auditor)
    response = client.get("/audit-log/?actor=member")
    assert response.status_code == 200 and b"answer.update" in response.content
    client.force_login(org.lead)
    assert client.get("/audit-log/").status_code == 403
