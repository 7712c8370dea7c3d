"""Campaigns in the pages and the API: officers launch, everyone in scope reads the progress of their teams."""

import datetime as dt

import pytest
from django.utils import timezone

from assessments.models import Assessment
from campaigns import services
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db


def in_days(n):
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


def test_an_officer_launches_for_all_teams_on_the_page_and_sees_the_progress(org, web):
    response = web(org.officer).post("/campaigns/", {"cycle": "2027-Q1", "deadline": in_days(30), "all_teams": "on"})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    page = web(org.officer).get(response["Location"]).content.decode()
    assert 'data-team="fraud"' in page and 'data-team="recs"' in page
    assert Assessment.objects.filter(cycle="2027-Q1").count() == 2


def test_chosen_teams_on_the_page_and_a_form_error_for_bad_input(org, web):
    bad = web(org.officer).post("/campaigns/", {"cycle": "2027-Q9", "deadline": in_days(-1)})
    assert bad.status_code == 400 and not Campaign.objects.exists()
    assert "deadline" in bad.content.decode()
    ok = web(org.officer).post("/campaigns/", {"cycle": "2027-Q1", "deadline": in_days(30), "teams": ["recs"]})
    assert ok.status_code == 302
    assert list(Campaign.objects.get().teams.values_list("slug", flat=True)) == ["recs"]


@pytest.mark.parametrize("who", ["lead", "member", "auditor", "other_lead"])
def test_nobody_else_launches_on_the_page_or_in_the_api(org, web, api, who):
    user = getattr(org, who)
    assert web(user).post("/campaigns/", {"cycle": "2027-Q1", "deadline": in_days(30),
                                          "all_teams": "on"}).status_code == 403
    assert api(user).post("/api/v1/campaigns/", {"cycle": "2027-Q1", "deadline": in_days(30)},
                          format="json").status_code == 403
    assert not Campaign.objects.exists()


def test_the_api_launches_and_shows_progress_scoped_to_the_reader(org, api):
    response = api(org.officer).post("/api/v1/campaigns/", {"cycle": "2027-Q1", "deadline": in_days(30),
                                                            "teams": ["fraud", "recs"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["drafts_created"] == 2 and [p["team"] for p in body["progress"]] == ["fraud", "recs"]
    lead_view = api(org.lead).get(f"/api/v1/campaigns/{body['id']}/").json()
    assert [p["team"] for p in lead_view["progress"]] == ["fraud"]
    assert api(org.auditor).get(f"/api/v1/campaigns/{body['id']}/").status_code == 200


def test_the_api_answers_400_for_bad_input_and_a_repeated_launch(org, api):
    client = api(org.officer)
    for body in ({"cycle": "2027-Q1"}, {"cycle": "x", "deadline": in_days(3)}, {"cycle": "2027-Q1", "deadline": "soon"},
                 {"cycle": "2027-Q1", "deadline": in_days(3), "teams": ["no-such-team"]}):
        assert client.post("/api/v1/campaigns/", body, format="json").status_code == 400, body
    assert client.post("/api/v1/campaigns/", {"cycle": "2027-Q1", "deadline": in_days(3)}, format="json").status_code == 201
    again = client.post("/api/v1/campaigns/", {"cycle": "2027-Q1", "deadline": in_days(3)}, format="json")
    assert again.status_code == 400 and "cycle" in again.json()


def test_a_campaign_without_the_readers_team_is_404_to_them(org, web, api):
    campaign = services.campaign_launch(actor=org.officer, cycle="2027-Q1", deadline=timezone.localdate()
                                        + dt.timedelta(days=9), teams=[org.other_team])
    assert web(org.lead).get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert api(org.lead).get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 404
    assert api(org.lead).get("/api/v1/campaigns/").json()["results"] == []
    assert web(org.other_lead).get(f"/campaigns/{campaign.pk}/").status_code == 200


def test_the_lead_finds_the_campaign_draft_in_my_work(org, web):
    services.campaign_launch(actor=org.officer, cycle="2027-Q1", deadline=timezone.localdate() + dt.timedelta(days=9))
    draft = Assessment.objects.get(project=org.project, cycle="2027-Q1")
    page = web(org.lead).get("/my-work/").content.decode()
    assert f'href="/assessments/{draft.pk}/"' in page and "you submit it" in page
    other = Assessment.objects.get(project=org.other_project, cycle="2027-Q1")
    assert f'/assessments/{other.pk}/' not in page


def test_a_lead_sees_only_its_own_teams_in_a_campaign_for_every_team(org, api):
    """Found by review: the API listed every team of an all-teams campaign to each lead."""
    campaign = services.campaign_launch(actor=org.officer, cycle="2027-Q1",
                                        deadline=timezone.localdate() + dt.timedelta(days=30))
    body = str(api(org.lead).get(f"/api/v1/campaigns/{campaign.pk}/").data)
    assert org.team.slug in body and org.other_team.slug not in body
    assert org.other_team.slug in str(api(org.officer).get(f"/api/v1/campaigns/{campaign.pk}/").data)
