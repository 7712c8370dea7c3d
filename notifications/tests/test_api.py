"""The notification API: one's own list (and nobody else's), preferences, and team channels per role."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from notifications.choices import OutboxStatus
from notifications.models import Notification, OutboxMessage, Preference, TeamChannel

from .helpers import submitted_assessment

SECRET = "whsec-api-0123456789abcdef"  # pragma: allowlist secret


def channels_url(team, pk=None):
    return f"/api/v1/teams/{team.slug}/notification-channels/" + (f"{pk}/" if pk else "")


def slack(webhook_receiver, **extra):
    return {"kind": "slack", "name": "#fraud-alerts", "url": webhook_receiver.url("/T1/B1/abc"), **extra}


# --- the list ---------------------------------------------------------------------------------------

def test_a_person_sees_only_their_own_notifications_and_marks_them_read(org, api):
    submitted_assessment(org)
    officer, lead = api(org.officer), api(org.lead)
    listed = officer.get("/api/v1/notifications/").json()
    assert listed["count"] == 1 and listed["results"][0]["event"] == "assessment.submitted"
    assert listed["results"][0]["read"] is False and listed["results"][0]["url"].endswith("/")
    assert officer.get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    pk = listed["results"][0]["id"]
    assert lead.get("/api/v1/notifications/").json()["count"] == 0
    assert lead.get(f"/api/v1/notifications/{pk}/").status_code == 404  # someone else's: no existence leak
    assert lead.post(f"/api/v1/notifications/{pk}/read/").status_code == 404
    assert Notification.objects.get(pk=pk).read_at is None
    assert officer.post(f"/api/v1/notifications/{pk}/read/").json()["read"] is True
    assert officer.get("/api/v1/notifications/?unread=true").json()["count"] == 0
    assert officer.get("/api/v1/notifications/?unread=maybe").status_code == 400


def test_mark_all_read_touches_only_ones_own(org, api):
    submitted_assessment(org)
    submitted_assessment(org, cycle="2027-Q1")
    Notification.objects.create(dispatch=Notification.objects.first().dispatch, recipient=org.auditor)
    assert api(org.officer).post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    assert Notification.objects.filter(recipient=org.auditor, read_at__isnull=True).count() == 1


def test_the_list_is_signed_in_only(org, api):
    assert api().get("/api/v1/notifications/").status_code == 401
    assert api().get("/api/v1/notification-preferences/").status_code == 401


def test_the_list_costs_the_same_queries_for_one_and_many(org, api, django_assert_max_num_queries):
    submitted_assessment(org)
    with django_assert_max_num_queries(10) as one:
        assert api(org.officer).get("/api/v1/notifications/").json()["count"] == 1
    for n in range(20):
        submitted_assessment(org, cycle=f"2030-Q{n % 4 + 1}-{n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert api(org.officer).get("/api/v1/notifications/").json()["count"] == 21


# --- preferences ------------------------------------------------------------------------------------

def test_preferences_steer_the_mail_but_not_the_portal_list(org, api):
    client = api(org.officer)
    listed = client.get("/api/v1/notification-preferences/").json()["preferences"]
    assert {p["event"]: p["delivery"] for p in listed}["assessment.submitted"] == "immediate"
    response = client.patch("/api/v1/notification-preferences/", {"preferences": {"assessment.submitted": "digest",
                                                                                 "acceptance.proposed": "off"}},
                            format="json")
    assert response.status_code == 200
    submitted_assessment(org)
    assert OutboxMessage.objects.get().status == OutboxStatus.HELD
    assert Notification.objects.filter(recipient=org.officer).count() == 1
    assert AuditEvent.objects.filter(action="notifications.preferences").count() == 1


@pytest.mark.parametrize("body", [{"preferences": {"assessment.submitted": "hourly"}},
                                  {"preferences": {"no.such.event": "off"}}, {"preferences": []}, {},
                                  {"preferences": {"assessment.submitted": "off", "x": "off"}}])
def test_bad_preferences_are_a_400_that_changes_nothing(org, api, body):
    response = api(org.officer).patch("/api/v1/notification-preferences/", body, format="json")
    assert response.status_code == 400
    assert not Preference.objects.exists()


# --- team channels ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role, status", [("lead", 201), ("officer", 201), ("admin", 201), ("member", 403),
                                          ("auditor", 403), ("other_lead", 404)])
def test_who_may_add_a_teams_channel(org, api, webhook_receiver, role, status):
    response = api(org.users()[role]).post(channels_url(org.team), slack(webhook_receiver), format="json")
    assert response.status_code == status, response.content
    assert TeamChannel.objects.count() == (1 if status == 201 else 0)


@pytest.mark.parametrize("role, status", [("lead", 200), ("officer", 200), ("member", 403), ("auditor", 403),
                                          ("other_lead", 404)])
def test_who_may_change_or_delete_a_teams_channel(org, api, webhook_receiver, role, status):
    pk = api(org.lead).post(channels_url(org.team), slack(webhook_receiver), format="json").json()["id"]
    client = api(org.users()[role])
    assert client.patch(channels_url(org.team, pk), {"active": False}, format="json").status_code == status
    assert client.delete(channels_url(org.team, pk)).status_code == (204 if status == 200 else status)
    assert TeamChannel.objects.filter(pk=pk).exists() == (status != 200)


def test_another_teams_lead_cannot_reach_a_channel_through_their_own_team(org, api, webhook_receiver):
    pk = api(org.lead).post(channels_url(org.team), slack(webhook_receiver), format="json").json()["id"]
    other = api(org.other_lead)
    assert other.get(channels_url(org.other_team, pk)).status_code == 404
    assert other.patch(channels_url(org.other_team, pk), {"active": False}, format="json").status_code == 404
    assert other.delete(channels_url(org.other_team, pk)).status_code == 404
    assert TeamChannel.objects.get(pk=pk).active


def test_url_and_secret_are_write_only_and_never_audited(org, api, webhook_receiver):
    created = api(org.lead).post(channels_url(org.team), {
        "kind": "webhook", "name": "SOAR", "url": webhook_receiver.url("/soar?token=abc123"), "secret": SECRET,
        "events": ["check.failing"]}, format="json")
    assert created.status_code == 201, created.content
    body = api(org.member).get(channels_url(org.team)).json()["results"][0]
    assert "url" not in body and "secret" not in body and body["has_secret"] is True
    assert body["url_hint"].startswith("http://127.0.0.1:") and "abc123" not in body["url_hint"]
    api(org.lead).patch(channels_url(org.team, body["id"]), {"secret": SECRET + "-rotated"}, format="json")
    for event in AuditEvent.objects.filter(action__startswith="notifications.channel"):
        assert SECRET not in str(event.changes) and "abc123" not in str(event.changes)
    assert AuditEvent.objects.filter(action="notifications.channel_update").exists()


@pytest.mark.parametrize("body, field", [
    ({"kind": "webhook", "name": "SOAR"}, "secret"),  # a JSON webhook must be signed
    ({"kind": "webhook", "name": "SOAR", "secret": "short"}, "secret"),  # pragma: allowlist secret
    ({"kind": "email", "name": "x"}, "kind"),
    ({"kind": "slack", "name": "x", "events": ["no.such.event"]}, "events"),
    ({"kind": "slack", "name": ""}, "name"),
    ({"kind": "slack", "name": "x", "url": "http://169.254.169.254/"}, "url"),
    ({"kind": "slack", "name": "x", "url": "javascript:alert(1)"}, "url"),
])
def test_a_bad_channel_is_a_400_that_changes_nothing(org, api, webhook_receiver, body, field):
    payload = {"url": webhook_receiver.url("/x"), **body}
    response = api(org.lead).post(channels_url(org.team), payload, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not TeamChannel.objects.exists()


def test_a_channel_only_gets_the_events_it_subscribed_to(org, api, webhook_receiver):
    api(org.lead).post(channels_url(org.team), slack(webhook_receiver, events=["check.failing"]), format="json")
    submitted_assessment(org)
    assert not OutboxMessage.objects.filter(team_channel__isnull=False).exists()
