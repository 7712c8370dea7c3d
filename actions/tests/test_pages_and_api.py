"""Who sees and changes actions, in the pages and the API alike; overdue ones on the dashboard, team page and exports."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from actions.choices import ActionStatus
from actions.models import Action
from assessments.tests.factories import ProjectFactory

from .factories import approve_with, finish

pytestmark = pytest.mark.django_db


def in_days(n):
    return timezone.localdate() + dt.timedelta(days=n)


@pytest.fixture
def action(org):
    approve_with(org, org.project, answers={"MLS-03": {"level": 1, "target_level": 3, "owner_user": org.member}})
    return Action.objects.get()


@pytest.fixture
def overdue(action):
    Action.objects.filter(pk=action.pk).update(due_on=in_days(-3))
    action.refresh_from_db()
    return action


SEE = {"admin": 200, "officer": 200, "auditor": 200, "lead": 200, "member": 200, "other_lead": 404}


@pytest.mark.parametrize("who,expected", SEE.items())
def test_the_action_page_and_api_answer_by_scope(org, web, api, action, who, expected):
    user = getattr(org, who)
    assert web(user).get(f"/actions/{action.pk}/").status_code == expected
    assert api(user).get(f"/api/v1/actions/{action.pk}/").status_code == expected
    listed = [a["id"] for a in api(user).get("/api/v1/actions/").json()["results"]]
    assert listed == ([action.pk] if expected == 200 else [])


PATCH = {"admin": 200, "officer": 200, "lead": 200, "member": 200, "auditor": 403, "other_lead": 404}


@pytest.mark.parametrize("who,expected", PATCH.items())
def test_status_changes_through_the_api_by_role(org, api, action, who, expected):
    response = api(getattr(org, who)).patch(f"/api/v1/actions/{action.pk}/", {"status": "in_progress"}, format="json")
    assert response.status_code == expected, response.content
    action.refresh_from_db()
    assert (action.status == ActionStatus.IN_PROGRESS) == (expected == 200)


def test_a_member_who_does_not_own_it_cannot_change_it_and_nobody_reassigns_outside_the_team(org, api, action):
    Action.objects.filter(pk=action.pk).update(owner=org.lead)
    assert api(org.member).patch(f"/api/v1/actions/{action.pk}/", {"status": "in_progress"},
                                 format="json").status_code == 403
    response = api(org.lead).patch(f"/api/v1/actions/{action.pk}/", {"owner": org.other_lead.pk}, format="json")
    assert response.status_code == 400 and "owner" in response.json()
    for bad in ({"due_on": "yesterday"}, {"due_on": (in_days(-1)).isoformat()}, {"status": "done"}, {"owner": "x"}):
        assert api(org.lead).patch(f"/api/v1/actions/{action.pk}/", bad, format="json").status_code == 400, bad
    action.refresh_from_db()
    assert (action.owner, action.status) == (org.lead, ActionStatus.OPEN)


def test_the_lead_changes_owner_and_date_on_the_page(org, web, action):
    response = web(org.lead).post(f"/actions/{action.pk}/", {"owner": org.lead.pk, "due_on": in_days(12).isoformat(),
                                                             "status": "in_progress"})
    assert response.status_code == 302
    action.refresh_from_db()
    assert (action.owner, action.due_on, action.status) == (org.lead, in_days(12), ActionStatus.IN_PROGRESS)
    assert "action.update" in web(org.lead).get(f"/actions/{action.pk}/").content.decode()


def test_an_auditor_reads_the_page_without_a_form_and_cannot_post(org, web, action):
    page = web(org.auditor).get(f"/actions/{action.pk}/").content.decode()
    assert "<form method=\"post\" class=\"card\"" not in page
    assert web(org.auditor).post(f"/actions/{action.pk}/", {"status": "in_progress"}).status_code == 403


def test_promoting_a_failing_check_through_the_api_and_the_page(org, api, web):
    run = finish(org.project, "source-secrets", "failed", findings=[{"severity": "critical", "title": "key"}])
    assert api(org.member).post("/api/v1/actions/", {"check_run": run.pk}, format="json").status_code == 403
    assert api(org.other_lead).post("/api/v1/actions/", {"check_run": run.pk}, format="json").status_code == 400
    response = api(org.lead).post("/api/v1/actions/", {"check_run": run.pk}, format="json")
    assert response.status_code == 201
    assert {a["due_on"] for a in response.json()} == {in_days(7).isoformat()}  # critical: a week
    other = finish(org.other_project, "source-secrets", "failed")
    assert web(org.officer).post(f"/check-runs/{other.pk}/promote/").status_code == 302
    assert Action.objects.filter(project=org.other_project).count() == 2
    assert web(org.lead).post(f"/check-runs/{other.pk}/promote/").status_code == 404


def test_overdue_actions_show_on_the_dashboard_the_team_page_and_in_my_work(org, web, overdue):
    dashboard = web(org.officer).get("/dashboard/").content.decode()
    assert overdue.title in dashboard and 'data-overdue-count>1<' in dashboard
    team_page = web(org.lead).get("/teams/fraud/").content.decode()
    assert overdue.title in team_page
    assert overdue.title not in web(org.other_lead).get("/teams/recs/").content.decode()
    mine = web(org.member).get("/my-work/").content.decode()
    assert overdue.title in mine and "1 overdue" in mine


def test_overdue_actions_are_in_the_csv_json_and_pdf_exports(org, overdue):
    from reports.dataset import Scope, build_dataset
    from reports.renderers.csv import write_csv

    dataset = build_dataset(scope=Scope("team", team=org.team, teams=[org.team]), as_of=None, generated_by="t")
    dataset["projects"] = list(dataset["projects"])
    project = dataset["projects"][0]
    assert [(a["practice"], a["overdue"]) for a in project["actions"]] == [("MLS-03", True)]
    out = io.StringIO(newline="")
    write_csv(dataset, out)
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert (rows["MLS-03"]["action_status"], rows["MLS-03"]["action_overdue"]) == ("open", "true")
    assert rows["MLS-04"]["action_status"] == ""
    from pypdf import PdfReader

    from reports.renderers.pdf import render_pdf

    pdf = io.BytesIO()
    render_pdf(dataset, pdf)
    pdf.seek(0)
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Open remediation actions" in text and "OVERDUE" in text


def test_an_export_as_of_a_day_before_the_action_opened_shows_none(org, overdue):
    from reports.dataset import Scope, build_dataset

    Action.objects.filter(pk=overdue.pk).update(opened_at=timezone.now() - dt.timedelta(days=1))
    dataset = build_dataset(scope=Scope("team", team=org.team, teams=[org.team]),
                            as_of=timezone.localdate() - dt.timedelta(days=2), generated_by="t")
    assert all(not p["actions"] for p in dataset["projects"])


@pytest.mark.parametrize("slug", ["open-actions", "overdue-actions", "evidence-to-review", "evidence-expiring",
                                  "evidence-expired", "failing-checks", "projects-without-approval"])
def test_every_work_list_pages_past_ten_rows_and_costs_the_same_queries(org, web, slug):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from checks.models import CheckRun
    from controls.models import Practice
    from evidence.models import Evidence

    mls03, mls08 = Practice.objects.get(code="MLS-03"), Practice.objects.get(code="MLS-08")

    def grow(n):  # rows made directly: this test is about paging and queries, the rules are tested elsewhere
        for _ in range(n):
            project = ProjectFactory(team=org.other_team)
            Action.objects.create(project=project, practice=mls03, source="answer", title="Raise MLS-03",
                                  owner=org.other_lead, due_on=in_days(-1))
            CheckRun.objects.create(project=project, definition_id="source-secrets", status="failed",
                                    finished_at=timezone.now(), summary="1 secret")
            for until in (in_days(5), in_days(-2)):
                Evidence.objects.create(project=project, practice=mls08, kind="note", title="n", text="t",
                                        valid_until=until, uploaded_by=org.other_lead)

    def queries(page=1):
        client = web(org.officer)
        client.get(f"/work/{slug}/")
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/work/{slug}/?page={page}")
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    grow(1)
    few, _ = queries()
    grow(55)
    many, page = queries()
    assert many == few
    assert "data-next" in page and "page 1 of " in page, slug
    response = web(org.officer).get(f"/work/{slug}/?format=csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) > 51


def test_work_lists_keep_to_the_viewer_scope_and_refuse_a_team_outside_it(org, web, overdue):
    other = ProjectFactory(team=org.other_team)
    approve_with(org, other, answers={"MLS-04": {"level": 0, "target_level": 2}})
    Action.objects.filter(project=other).update(due_on=in_days(-1))
    page = web(org.lead).get("/work/overdue-actions/").content.decode()
    assert overdue.title in page and "Raise MLS-04" not in page
    assert web(org.lead).get("/work/overdue-actions/?team=recs").status_code == 400
    assert "Raise MLS-04" in web(org.officer).get("/work/overdue-actions/?team=recs").content.decode()
    assert web(org.officer).get("/work/nothing-like-this/").status_code == 404
    csv_text = b"".join(web(org.lead).get("/work/overdue-actions/?format=csv").streaming_content).decode()
    assert "Raise MLS-03" in csv_text and "Raise MLS-04" not in csv_text
