"""The pages: the list with its nav badge, preferences, and a team's channels per role."""

from __future__ import annotations

import pytest

from notifications.models import Notification, Preference, TeamChannel

from .helpers import submitted_assessment


def test_the_nav_badge_counts_unread_and_the_list_marks_read_and_opens(org, client):
    assessment = submitted_assessment(org)
    client.force_login(org.officer)
    page = client.get("/notifications/").content.decode()
    assert 'Notifications <span class="badge badge-warning">1</span>' in page
    assert "Card fraud scorer 2026-Q4 submitted for review" in page
    notification = Notification.objects.get(recipient=org.officer)
    response = client.post(f"/notifications/{notification.pk}/read/", {"open": "1"})
    assert response.status_code == 302 and response["Location"] == f"/assessments/{assessment.pk}/"
    assert 'Notifications <span class="badge' not in client.get("/notifications/").content.decode()


def test_nobody_marks_or_opens_someone_elses_notification(org, client):
    submitted_assessment(org)
    notification = Notification.objects.get(recipient=org.officer)
    client.force_login(org.lead)
    assert client.post(f"/notifications/{notification.pk}/read/").status_code == 404
    assert client.get(f"/notifications/{notification.pk}/read/").status_code == 405  # a link cannot mark it
    assert Notification.objects.get(pk=notification.pk).read_at is None


def test_the_list_page_costs_the_same_queries_for_one_and_many(org, client, django_assert_max_num_queries):
    submitted_assessment(org)
    client.force_login(org.officer)
    client.get("/notifications/")
    fresh_catalogue_version()
    with django_assert_max_num_queries(30) as one:
        assert client.get("/notifications/").status_code == 200
    for n in range(15):
        submitted_assessment(org, cycle=f"2031-Q1-{n}")
    fresh_catalogue_version()
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get("/notifications/").status_code == 200


def fresh_catalogue_version() -> None:
    """The catalogue's version is remembered for a minute: renewed here, it cannot lapse between the two
    measured requests (an earlier test of the same process may have read it 59 s before)."""
    from controls.models import CatalogRelease

    CatalogRelease.forget_cached_version()
    CatalogRelease.current_version()


def test_preferences_are_saved_from_the_page_and_bad_input_is_a_form_error(org, client):
    client.force_login(org.lead)
    assert client.post("/notifications/preferences/", {"assessment.approved": "digest"}).status_code == 302
    assert Preference.objects.get(user=org.lead, event="assessment.approved").delivery == "digest"
    response = client.post("/notifications/preferences/", {"assessment.approved": "weekly"})
    assert response.status_code == 400
    assert Preference.objects.get(user=org.lead, event="assessment.approved").delivery == "digest"


@pytest.mark.parametrize("role, status", [("lead", 302), ("officer", 302), ("admin", 302), ("member", 403),
                                          ("auditor", 403), ("other_lead", 404)])
def test_who_may_add_a_channel_on_the_teams_page(org, client, webhook_receiver, role, status):
    client.force_login(org.users()[role])
    response = client.post("/teams/fraud/channels/", {"kind": "slack", "name": "#fraud",
                                                      "url": webhook_receiver.url("/T/B/x")})
    assert response.status_code == status
    assert TeamChannel.objects.count() == (1 if status == 302 else 0)


@pytest.mark.parametrize("role, status", [("member", 403), ("auditor", 403), ("other_lead", 404)])
def test_who_may_not_switch_off_or_remove_a_channel_on_the_page(org, client, webhook_receiver, role, status):
    client.force_login(org.lead)
    client.post("/teams/fraud/channels/", {"kind": "slack", "name": "#fraud", "url": webhook_receiver.url("/T/B/x")})
    channel = TeamChannel.objects.get()
    client.force_login(org.users()[role])
    for operation in ("off", "delete"):
        assert client.post(f"/teams/fraud/channels/{channel.pk}/", {"operation": operation}).status_code == status
    channel.refresh_from_db()
    assert channel.active


def test_the_channel_page_never_shows_the_url_or_secret(org, client, webhook_receiver):
    client.force_login(org.lead)
    url = webhook_receiver.url("/services/T0/B0/s3cr3tpath")
    client.post("/teams/fraud/channels/", {"kind": "webhook", "name": "SOAR", "url": url,
                                           "secret": "whsec-page-0123456789"})  # pragma: allowlist secret
    page = client.get("/teams/fraud/channels/").content.decode()
    assert "SOAR" in page and "s3cr3tpath" not in page and "whsec-page" not in page
    response = client.post("/teams/fraud/channels/", {"kind": "slack", "name": "x", "url": "http://10.0.0.5/x"})
    assert response.status_code == 400 and "may not send to this address" in response.content.decode()
    client.post(f"/teams/fraud/channels/{TeamChannel.objects.get().pk}/", {"operation": "off"})
    assert not TeamChannel.objects.get().active


def test_someone_who_left_a_team_no_longer_reads_its_news_in_the_portal(org, client, api):
    """As the digests do (test_outbox): the list, the badge, opening and the API leave the old team's news out;
    a notification of no team stays."""
    from accounts.models import Membership
    from notifications.models import Dispatch

    from .helpers import approved_assessment

    approved_assessment(org)
    team_news = Notification.objects.get(recipient=org.member)
    assert team_news.dispatch.team_id == org.team.pk
    personal = Notification.objects.create(recipient=org.member, dispatch=Dispatch.objects.create(
        event="account.changed", title="Your second factor was reset", body="-", path="/"))
    client.force_login(org.member)
    assert team_news.dispatch.title in client.get("/notifications/").content.decode()
    Membership.objects.filter(team=org.team, user=org.member).delete()
    client.force_login(type(org.member).objects.get(pk=org.member.pk))  # a fresh user object, no cached roles
    page = client.get("/notifications/").content.decode()
    assert team_news.dispatch.title not in page and personal.dispatch.title in page
    assert 'Notifications <span class="badge badge-warning">1</span>' in page  # the personal one only
    assert client.post(f"/notifications/{team_news.pk}/read/", {"open": "1"}).status_code == 404
    listed = api(org.member).get("/api/v1/notifications/").json()
    assert [row["title"] for row in listed["results"]] == [personal.dispatch.title]
    assert api(org.member).get("/api/v1/notifications/unread-count/").json() == {"unread": 1}
    assert Notification.objects.get(pk=team_news.pk).read_at is None
