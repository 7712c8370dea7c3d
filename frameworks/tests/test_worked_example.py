"""docs/scoring.md's framework readiness example, reproduced number for number by the API and the page.

The organisation is the scorecard's worked example (scoring/tests/test_worked_example.py), with the
EU AI Act classification the readiness example adds.
"""

import re

import pytest

from assessments.models import Project
from scoring.tests.test_worked_example import approved, example, officer  # noqa: F401 - fixtures and helper

CLASSES = {"Card fraud scorer": ("provider", "high-risk"), "Chargeback predictor": ("deployer", "minimal-risk"),
           "Merchant risk model": ("deployer", "high-risk"), "Home feed ranker": ("provider", "limited-risk")}


@pytest.fixture
def classified(example):  # noqa: F811
    for name, (role, risk_class) in CLASSES.items():
        Project.objects.filter(name=name).update(ai_act_role=role, ai_act_risk_class=risk_class)
    return example


def readiness(api, user, key, **params):
    response = api(user).get(f"/api/v1/frameworks/{key}/readiness/", params)
    assert response.status_code == 200, response.content
    data = response.json()
    return data, {r["ref"]: r for r in data["requirements"]}


def test_iso_42001_a_4_3_for_the_fraud_team(classified, officer, api):  # noqa: F811
    _data, rows = readiness(api, officer, "iso-42001", team="fraud-x")
    row = rows["A.4.3"]
    assert row["practices"] == ["MLS-01", "MLS-02", "MLS-21"]
    assert [(p["code"], p["score"]) for p in row["practice_scores"]] == [("MLS-01", 65.0), ("MLS-02", 60.0),
                                                                         ("MLS-21", None)]
    assert (row["readiness"], row["coverage"], row["verified"]) == (62.0, 44.4, 50.0)
    assert [(w["name"], w["readiness"]) for w in row["weakest_projects"]] == [
        ("Card fraud scorer", 60.0), ("Chargeback predictor", 70.0)]


def test_iso_42001_a_4_3_and_its_parent_for_the_organisation(classified, officer, api):  # noqa: F811
    data, rows = readiness(api, officer, "iso-42001")
    assert (rows["A.4.3"]["readiness"], rows["A.4.3"]["coverage"], rows["A.4.3"]["verified"]) == (48.1, 50.0, 33.3)
    assert [(w["name"], w["readiness"]) for w in rows["A.4.3"]["weakest_projects"]] == [
        ("Home feed ranker", 25.0), ("Card fraud scorer", 60.0), ("Chargeback predictor", 70.0)]
    parent = rows["A.4"]
    assert parent["practices"] == ["MLS-01", "MLS-02", "MLS-03", "MLS-10", "MLS-11", "MLS-21", "MLS-23", "MLS-25"]
    assert (parent["readiness"], parent["coverage"]) == (48.1, 18.8)  # same practices scored, eight behind it
    assert rows["A.7.2"]["readiness"] == 0.0  # MLS-14: only the Chargeback predictor's 0 counts, N/A is excluded
    assert rows["A.2.2"]["covered_by_catalogue"] is False and rows["A.2.2"]["readiness"] is None
    assert "A.2.2" in data["not_covered"]
    assert (data["readiness"], data["coverage"], data["verified"]) == (40.1, 10.7, 28.6)


def test_recommendations_answers_mls_14_only_as_not_applicable(classified, officer, api):  # noqa: F811
    _data, rows = readiness(api, officer, "iso-42001", team="recs-x")
    assert rows["A.7.2"]["readiness"] is None and rows["A.7.2"]["coverage"] == 33.3


def test_eu_ai_act_article_15_5_counts_only_the_high_risk_provider(classified, officer, api):  # noqa: F811
    data, rows = readiness(api, officer, "eu-ai-act")
    row = rows["Article 15(5)"]
    assert row["projects"] == 1 and len(row["practices"]) == 10
    assert (row["readiness"], row["coverage"], row["verified"]) == (60.0, 20.0, 50.0)
    assert [w["name"] for w in row["weakest_projects"]] == ["Card fraud scorer"]
    assert rows["Article 26"]["projects"] == 1  # the Merchant risk model: a high-risk deployer (a draft only)
    assert data["unclassified_projects"] == 0


def test_the_framework_page_shows_the_same_numbers_as_the_api(classified, officer, client):  # noqa: F811
    client.force_login(officer)
    html = client.get("/frameworks/iso-42001/", {"team": "fraud-x"}).content.decode()
    row = html.split('id="req-a-4-3"')[1].split("</tr>")[0]
    assert re.findall(r'class="readiness-value">([^<]+)<', row) == ["62"]
    assert "44%" in row and "50%" in row
    assert "Card fraud scorer</a> 60" in row and "Chargeback predictor</a> 70" in row
