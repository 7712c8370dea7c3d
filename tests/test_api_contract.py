"""The API contract: names, formats, list scope, and the error answers clients rely on."""

import re

from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment

ID_FORMATS = {
    "nist-ai-rmf": r"^(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+$",
    "iso-42001": r"^(A\.\d+(\.\d+)+|\d+\.\d+)$",
    "iso-27001": r"^A\.[5-8]\.\d+$",
    "owasp-ml-top10": r"^ML(0[1-9]|10):2023$",
    "owasp-llm-top10": r"^LLM(0[1-9]|10):2025$",
    "mitre-atlas": r"^AML\.M\d{4}$",
    "mitre-atlas-2026": r"^AML\.M\d{4}$",
    "eu-ai-act": r"^Article \d+",
}


def test_practices_are_the_25_in_order_with_rubric_and_mappings(org, api):
    response = api(org.member).get("/api/v1/practices/?page_size=100")
    assert response.status_code == 200
    results = response.data["results"]
    assert [p["code"] for p in results] == [f"MLS-{n:02d}" for n in range(1, 26)]
    for practice in results:
        assert [level["level"] for level in practice["levels"]] == [0, 1, 2, 3, 4]
        assert all(level["summary"] for level in practice["levels"])
        assert practice["catalog_version"] and practice["weight"] >= 1
        for mapping in practice["mappings"]:
            assert mapping["framework_version"]
            pattern = ID_FORMATS.get(mapping["framework_key"])
            if pattern:
                assert re.match(pattern, mapping["ref"]), mapping
    first = {(m["framework_key"], m["ref"]) for m in results[0]["mappings"]}
    assert {("nist-ai-rmf", "MEASURE 2.7"), ("iso-42001", "A.4.3"), ("owasp-ml-top10", "ML05:2023"),
            ("mitre-atlas", "AML.M0012")} <= first


def test_practice_is_addressed_by_code(org, api):
    response = api(org.member).get("/api/v1/practices/MLS-23/")
    assert response.status_code == 200 and response.data["number"] == 23
    assert api(org.member).get("/api/v1/practices/MLS-99/").status_code == 404


def test_lists_show_only_the_teams_in_scope(org, api):
    make_assessment(org.project)
    make_assessment(org.other_project)
    lead = api(org.lead)
    assert [t["slug"] for t in lead.get("/api/v1/teams/").data["results"]] == ["fraud"]
    assert [p["id"] for p in lead.get("/api/v1/projects/").data["results"]] == [org.project.pk]
    assert {a["project"] for a in lead.get("/api/v1/assessments/").data["results"]} == {org.project.pk}
    officer = api(org.officer)
    assert {t["slug"] for t in officer.get("/api/v1/teams/").data["results"]} == {"fraud", "recs"}
    assert len(officer.get("/api/v1/assessments/").data["results"]) == 2


def test_submit_through_the_api_lists_the_missing_codes(org, api):
    assessment = make_assessment(org.project, levels={f"MLS-{n:02d}": 2 for n in range(1, 24)})
    response = api(org.lead).post(f"/api/v1/assessments/{assessment.pk}/submit/")
    assert response.status_code == 400
    assert response.data == {"missing": ["MLS-24", "MLS-25"]}


def test_assessment_detail_has_answers_and_completion(org, api):
    assessment = make_assessment(org.project, levels={"MLS-01": 3, "MLS-02": 1}, na=("MLS-14",))
    data = api(org.member).get(f"/api/v1/assessments/{assessment.pk}/").data
    assert data["completion"] == 12  # 3 of 25
    assert len(data["answers"]) == 25 and data["answers"][0]["practice"] == "MLS-01"
    assert data["team"] == "fraud" and data["status"] == "draft"


def test_filters_narrow_the_lists(org, api):
    make_assessment(org.project, cycle="2026-Q3", status=AssessmentStatus.APPROVED, levels=2)
    make_assessment(org.project, cycle="2026-Q4")
    client = api(org.officer)
    assert client.get("/api/v1/assessments/?status=approved").data["count"] == 1
    assert client.get(f"/api/v1/assessments/?project={org.project.pk}").data["count"] == 2
    assert client.get("/api/v1/assessments/?team=recs").data["count"] == 0
    assert client.get("/api/v1/projects/?team=recs").data["count"] == 1


def test_pagination_envelope_and_page_size_cap(org, api):
    data = api(org.officer).get("/api/v1/practices/?page_size=10").data
    assert set(data) == {"count", "next", "previous", "results"} and len(data["results"]) == 10
    assert api(org.officer).get("/api/v1/practices/?page_size=501").data["results"].__len__() == 25


def test_project_delete_archives_and_keeps_history(org, api):
    make_assessment(org.project, status=AssessmentStatus.APPROVED, levels=2)
    assert api(org.officer).delete(f"/api/v1/projects/{org.project.pk}/").status_code == 204
    org.project.refresh_from_db()
    assert org.project.archived_at is not None and org.project.assessments.count() == 1
    assert org.project.pk not in [p["id"] for p in api(org.officer).get("/api/v1/projects/").data["results"]]


def test_check_targets_are_validated(org, api, team_dir):
    client = api(org.lead)
    files = team_dir(org.team)
    good = {"source_path": f"{files}/src", "dependency_files": [f"{files}/src/requirements.txt"],
            "model_artifacts": [f"{files}/models/*.pt"], "datasets": [f"{files}/data/*.csv"],
            "endpoint_url": "https://fraud.internal.example/v1/score"}
    response = client.patch(f"/api/v1/projects/{org.project.pk}/", {"check_targets": good}, format="json")
    assert response.status_code == 200 and response.data["check_targets"] == good
    for bad in ({"source_path": "relative/path"}, {"endpoint_url": "ftp://x"}, {"endpoint_url": "https://u:p@h/"},
                {"model_artifacts": "/not/a/list"}, {"datasets": ["/srv/../etc/passwd"]}, {"colour": "blue"},
                {"dependency_files": ["/srv/req*.txt"]}, {"endpoint_url": "http://[::1"}):
        response = client.patch(f"/api/v1/projects/{org.project.pk}/", {"check_targets": bad}, format="json")
        assert response.status_code == 400, bad
        assert "check_targets" in response.data
    org.project.refresh_from_db()
    assert org.project.check_targets == good
