"""Every figure leads somewhere: failing checks to the full list, counts to the runs they count, a
practice to the projects weak on it — each within the reader's scope and at a constant cost."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments.choices import AssessmentStatus
from assessments.models import Project
from assessments.tests.factories import ProjectFactory, make_assessment
from checks.models import CheckRun


def failed(project, key="source-secrets", summary="1 secret found"):
    return CheckRun.objects.create(project=project, definition_id=key, status="failed", summary=summary,
                                   finished_at=timezone.now())


def run_links(content: str) -> set[str]:
    return set(re.findall(r'href="/check-runs/(\d+)/"', content))


def queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


# --- failing checks -----------------------------------------------------------------------------

def test_the_dashboards_failing_checks_link_to_the_full_list(web, org):
    runs = [failed(ProjectFactory(team=org.team), summary=f"finding {i}") for i in range(12)]
    content = web(org.officer).get("/dashboard/").content.decode()
    link = re.search(r'<a href="(/check-runs/\?[^"]+)" data-all-failing>All 12 failing checks', content)
    assert link, "no link to every failing check"
    listing = web(org.officer).get(link.group(1).replace("&amp;", "&")).content.decode()
    assert run_links(listing) == {str(r.pk) for r in runs}  # all twelve, where the dashboard shows ten


def test_the_check_runs_list_filters_by_status_check_team_and_verdict_in_force(web, org):
    ours = failed(org.project)
    theirs = failed(org.other_project, key="dependency-vulnerabilities")
    older = failed(org.project, key="model-integrity")
    CheckRun.objects.filter(pk=older.pk).update(superseded_at=timezone.now())
    passed = CheckRun.objects.create(project=org.project, definition_id="source-static-analysis", status="passed",
                                     finished_at=timezone.now())
    client = web(org.officer)
    assert run_links(client.get("/check-runs/").content.decode()) == {str(r.pk) for r in (ours, theirs, older, passed)}
    assert run_links(client.get("/check-runs/?status=failed&current=true").content.decode()) == {
        str(ours.pk), str(theirs.pk)}
    assert run_links(client.get("/check-runs/?team=recs").content.decode()) == {str(theirs.pk)}
    assert run_links(client.get("/check-runs/?check=source-static-analysis").content.decode()) == {str(passed.pk)}
    assert client.get("/check-runs/?status=exploded").status_code == 400


def test_a_lead_sees_only_their_teams_runs_in_the_list(web, org):
    ours, theirs = failed(org.project), failed(org.other_project)
    client = web(org.lead)
    assert run_links(client.get("/check-runs/").content.decode()) == {str(ours.pk)}
    assert client.get(f"/check-runs/{theirs.pk}/").status_code == 404
    assert run_links(client.get("/check-runs/?team=recs").content.decode()) == set()


def test_an_archived_projects_verdict_is_not_in_force(web, org):
    archived = ProjectFactory(team=org.team)
    run = failed(archived)
    Project.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
    content = web(org.officer).get("/check-runs/?status=failed&current=true").content.decode()
    assert str(run.pk) not in run_links(content)


def test_the_check_runs_list_costs_the_same_queries_for_few_and_many_runs(web, org):
    client = web(org.officer)
    failed(org.project)
    few = queries(client, "/check-runs/?status=failed")
    for _ in range(30):
        failed(ProjectFactory(team=org.other_team))
    assert queries(client, "/check-runs/?status=failed") == few
    assert queries(client, "/check-runs/?status=failed&page=2") == few


# --- counts on /checks/ -------------------------------------------------------------------------

def test_the_counts_on_the_checks_page_link_to_the_runs_they_count(web, org):
    failed(org.project)
    failed(org.other_project)
    CheckRun.objects.create(project=ProjectFactory(team=org.team), definition_id="source-secrets", status="passed",
                            finished_at=timezone.now())
    client = web(org.officer)
    content = client.get("/checks/").content.decode()
    failing = re.search(r'<a href="(/check-runs/\?check=source-secrets&amp;status=failed&amp;current=true)"[^>]*>'
                        r'<span class="badge badge-danger">2</span></a>', content)
    passing = re.search(r'<a href="(/check-runs/\?check=source-secrets&amp;status=passed&amp;current=true)"[^>]*>1</a>',
                        content)
    assert failing and passing
    assert len(run_links(client.get(failing.group(1).replace("&amp;", "&")).content.decode())) == 2
    assert len(run_links(client.get(passing.group(1).replace("&amp;", "&")).content.decode())) == 1


# --- a practice and the projects weak on it ------------------------------------------------------

@pytest.fixture
def weak_on_mls03(org):
    strong = ProjectFactory(team=org.team, name="Strong model")
    weak = ProjectFactory(team=org.team, name="Weak model")
    capped = ProjectFactory(team=org.team, name="Capped model")
    make_assessment(strong, levels=4, status=AssessmentStatus.APPROVED)
    make_assessment(weak, levels={**{f"MLS-{n:02d}": 3 for n in range(1, 26)}, "MLS-03": 1},
                    status=AssessmentStatus.APPROVED)
    make_assessment(capped, levels=3, status=AssessmentStatus.APPROVED)
    failed(capped, key="dependency-vulnerabilities")  # caps MLS-03 at 1
    make_assessment(org.other_project, levels=0, status=AssessmentStatus.APPROVED)
    return {"strong": strong, "weak": weak, "capped": capped}


def rows(content: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-project="(\d+)" data-state="([\w ]+)">', content)


def test_a_practice_links_to_the_projects_weak_on_it(web, org, weak_on_mls03):
    dashboard = web(org.officer).get("/dashboard/").content.decode()
    assert 'href="/practices/MLS-' in dashboard
    content = web(org.officer).get("/practices/MLS-03/").content.decode()
    listed = rows(content)
    assert {pk for pk, _ in listed} == {str(weak_on_mls03["weak"].pk), str(weak_on_mls03["capped"].pk),
                                       str(org.other_project.pk)}
    assert listed[0] == (str(org.other_project.pk), "weak")  # level 0 first
    assert "capped" in content and 'href="/catalogue/#MLS-03"' in content


def test_every_project_is_listed_on_request_with_the_unassessed_last(web, org, weak_on_mls03):
    listed = rows(web(org.officer).get("/practices/MLS-03/?show=all").content.decode())
    assert len(listed) == 5 and listed[-1] == (str(org.project.pk), "not assessed")
    assert (str(weak_on_mls03["strong"].pk), "ok") in listed


def test_the_practice_page_shows_a_lead_only_their_teams_projects(web, org, weak_on_mls03):
    listed = rows(web(org.lead).get("/practices/MLS-03/?show=all").content.decode())
    assert str(org.other_project.pk) not in {pk for pk, _ in listed} and len(listed) == 4
    assert rows(web(org.lead).get("/practices/MLS-03/?team=recs&show=all").content.decode()) == listed


def test_the_team_page_links_its_gaps_to_its_weak_projects(web, org, weak_on_mls03):
    content = web(org.lead).get("/teams/fraud/").content.decode()
    assert 'href="/practices/MLS-03/?team=fraud"' in content
    listed = rows(web(org.lead).get("/practices/MLS-03/?team=fraud").content.decode())
    assert {pk for pk, _ in listed} == {str(weak_on_mls03["weak"].pk), str(weak_on_mls03["capped"].pk)}


def test_an_unknown_practice_is_a_404(web, org):
    assert web(org.lead).get("/practices/MLS-99/").status_code == 404


def test_the_practice_page_costs_the_same_queries_for_few_and_many_projects(web, org, weak_on_mls03):
    client = web(org.officer)
    few = queries(client, "/practices/MLS-03/?show=all")
    for i in range(10):
        make_assessment(ProjectFactory(team=org.other_team), levels=i % 5, status=AssessmentStatus.APPROVED)
    assert queries(client, "/practices/MLS-03/?show=all") == few


def test_the_api_shares_the_team_and_in_force_filters(org, api):
    ours = failed(org.project)
    older = failed(org.project, key="model-integrity")
    CheckRun.objects.filter(pk=older.pk).update(superseded_at=timezone.now())
    failed(org.other_project)
    results = api(org.officer).get("/api/v1/check-runs/?team=fraud&current=true").json()["results"]
    assert [r["id"] for r in results] == [ours.pk]
