"""The OSCAL plan of action and milestones: validated by compliance-trestle, its content mapped back to the gaps.

Renderer tests use the synthetic export dataset (reports/tests/sample_dataset.py); the last ones export a
real project through the API.
"""

import datetime as dt
import io
import json

import pytest
from django.utils import timezone
from trestle.core.oscal_backward_compatibility import check_raw_oscal
from trestle.oscal.poam import Model as PoamModel

from assessments.choices import AcceptanceStatus, AssessmentStatus
from assessments.models import Answer, RiskAcceptance
from assessments.tests.factories import make_assessment
from checks.models import CheckRun
from controls.models import Practice
from reports.renderers.oscal_poam import build_poam, write_poam
from reports.tests.sample_dataset import make_dataset, materialise
from reports.tests.test_exports import download, export


def poam(dataset) -> dict:
    document = build_poam(dataset)
    PoamModel.model_validate(document)  # compliance-trestle's pydantic model of OSCAL POA&M 1.1
    assert check_raw_oscal(document) == []
    return document["plan-of-action-and-milestones"]


def by_prop(record, name):
    return next((p["value"] for p in record.get("props", ()) if p["name"] == name), None)


def test_the_poam_validates_with_trestle():
    document = poam(make_dataset(6))
    assert document["metadata"]["oscal-version"] == "1.1.2"
    assert document["poam-items"] and document["system-id"]["identifier-type"] == "https://ietf.org/rfc/rfc4122"


def test_trestle_rejects_a_broken_poam_so_the_validation_means_something():
    document = build_poam(make_dataset(2))
    del document["plan-of-action-and-milestones"]["poam-items"]
    with pytest.raises(ValueError):
        PoamModel.model_validate(document)
    document = build_poam(make_dataset(2))
    document["plan-of-action-and-milestones"]["risks"][0]["title"] = "two\nlines"  # titles are one line
    with pytest.raises(ValueError):
        PoamModel.model_validate(document)


def test_every_answer_below_target_is_an_item_with_its_owner_due_date_observation_and_risk():
    dataset = materialise(make_dataset(6))
    document = poam(dataset)
    below = [(p, a) for p in dataset["projects"] if p["assessment"] for a in p["answers"]
             if not a["not_applicable"] and a["effective_level"] is not None and a["target_level"] is not None
             and a["effective_level"] < a["target_level"]]
    items = [i for i in document["poam-items"] if by_prop(i, "gap") == "below-target"]
    assert len(items) == len(below) > 5
    risks = {r["uuid"]: r for r in document["risks"]}
    observations = {o["uuid"]: o for o in document["observations"]}
    for item, (project, answer) in zip(items, below, strict=False):
        assert by_prop(item, "practice") in {a["code"] for _p, a in below}
        risk = risks[item["related-risks"][0]["risk-uuid"]]
        observation = observations[item["related-observations"][0]["observation-uuid"]]
        assert observation["methods"] == ["EXAMINE"] and risk["related-observations"][0]["observation-uuid"] == observation["uuid"]
    first_project, first = below[0]
    item = next(i for i in items if by_prop(i, "practice") == first["code"]
                and by_prop(i, "project-id") == str(first_project["id"]))
    risk = risks[item["related-risks"][0]["risk-uuid"]]
    assert by_prop(item, "owner") == (first["owner"].strip() or "unassigned")
    assert by_prop(item, "due-date") == first["due_date"]
    assert risk["deadline"].startswith(first["due_date"])
    milestone = risk["remediations"][0]["tasks"][0]
    assert milestone["type"] == "milestone" and milestone["timing"]["on-date"]["date"].startswith(first["due_date"])


def test_every_failing_check_is_an_item_with_one_observation_per_open_finding():
    dataset = materialise(make_dataset(4))
    document = poam(dataset)
    failed = [r for p in dataset["projects"] for r in p["check_runs"] if r["status"] == "failed"]
    items = [i for i in document["poam-items"] if by_prop(i, "gap") == "check-failed"]
    assert len(items) == len(failed) > 0
    observations = {o["uuid"]: o for o in document["observations"]}
    for item, run in zip(items, failed, strict=True):
        related = [observations[r["observation-uuid"]] for r in item["related-observations"]]
        assert len(related) == 1 + len(run["findings"])
        assert all(o["methods"] == ["TEST"] and o["types"] == ["finding"] for o in related)
        assert {by_prop(o, "ref") for o in related[1:]} == {f["ref"] for f in run["findings"]}
        assert related[0]["origins"][0]["actors"][0]["type"] == "tool"


def test_accepted_risks_are_deviations_with_a_risk_log_and_proposed_ones_are_requested():
    dataset = materialise(make_dataset(4))
    document = poam(dataset)
    approved = [a for p in dataset["projects"] for a in p["risk_acceptances"] if a["status"] == "approved"]
    proposed = [a for p in dataset["projects"] for a in p["risk_acceptances"] if a["status"] == "proposed"]
    deviations = [r for r in document["risks"] if r["status"] == "deviation-approved"]
    requested = [r for r in document["risks"] if r["status"] == "deviation-requested"]
    assert len(deviations) == len(approved) > 0 and len(requested) == len(proposed) > 0
    entry = deviations[0]["risk-log"]["entries"][0]
    assert entry["status-change"] == "deviation-approved" and entry["logged-by"][0]["role-id"] == "risk-approver"
    assert deviations[0]["deadline"].startswith(approved[0]["expires_on"])


def test_expired_and_rejected_acceptances_are_closed_and_left_out():
    dataset = materialise(make_dataset(2))
    for project in dataset["projects"]:
        for acceptance in project["risk_acceptances"]:
            acceptance["status"], acceptance["expires_on"] = "approved", "2026-01-01"  # before the as_of day
    assert not [r for r in poam(dataset)["risks"] if r["status"].startswith("deviation")]


def test_a_scope_with_nothing_open_is_still_a_valid_poam_that_says_so():
    document = poam(materialise(make_dataset(0)))
    assert [by_prop(i, "gap") for i in document["poam-items"]] == ["none"]
    assert "observations" not in document and "risks" not in document


def test_the_same_dataset_gives_the_same_bytes():
    first, second = io.BytesIO(), io.BytesIO()
    write_poam(make_dataset(3), first)
    write_poam(make_dataset(3), second)
    assert first.getvalue() == second.getvalue()
    json.loads(first.getvalue())


# --- from the database -----------------------------------------------------------------------------

@pytest.fixture
def gaps(org):
    """Below target with an owner and a due date, a failing check with findings, an accepted risk."""
    make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    Answer.objects.filter(practice__code="MLS-03").update(target_level=4, owner="Ben Okafor",
                                                          due_date=dt.date(2027, 3, 31))
    CheckRun.objects.create(project=org.project, definition_id="dependency-vulnerabilities", status="failed",
                            finished_at=timezone.now(), summary="2 vulnerable packages",
                            findings=[{"severity": "high", "title": "pyyaml 5.3.1: GHSA-8q59-q68h-6hv4", "detail": "",
                                       "ref": "GHSA-8q59-q68h-6hv4"},
                                      {"severity": "medium", "title": "requests 2.19.0", "detail": "", "ref": "CVE-2018-18074"}])
    RiskAcceptance.objects.create(project=org.project, practice=Practice.objects.get(code="MLS-14"),
                                  justification="Federated learning is not on the roadmap.", proposed_by=org.lead,
                                  status=AcceptanceStatus.APPROVED, approved_by=org.officer, decided_by=org.officer,
                                  decided_at=timezone.now(), expires_on=timezone.localdate() + dt.timedelta(days=90))
    return org


def test_a_real_projects_poam_exported_through_the_api(gaps, api, django_capture_on_commit_callbacks):
    report = export(api, gaps.lead, django_capture_on_commit_callbacks, scope="project", project=gaps.project.pk,
                    format="oscal-poam")
    assert report.filename.endswith(".poam.json")
    document = json.loads(download(api, gaps.lead, report))
    PoamModel.model_validate(document)
    body = document["plan-of-action-and-milestones"]
    items = {(by_prop(i, "gap"), by_prop(i, "practice") or by_prop(i, "check")): i for i in body["poam-items"]}
    below = items[("below-target", "MLS-03")]
    assert (by_prop(below, "owner"), by_prop(below, "due-date")) == ("Ben Okafor", "2027-03-31")
    check = items[("check-failed", "dependency-vulnerabilities")]
    assert len(check["related-observations"]) == 3
    accepted = items[("risk-accepted", "MLS-14")]
    risk = next(r for r in body["risks"] if r["uuid"] == accepted["related-risks"][0]["risk-uuid"])
    assert risk["status"] == "deviation-approved" and risk["risk-log"]["entries"][0]["logged-by"]
    names = {p["name"] for p in body["metadata"]["parties"]}
    assert {"Ben Okafor", "officer"} <= names


def test_a_lead_cannot_export_another_teams_poam(gaps, api):
    response = api(gaps.other_lead).post("/api/v1/reports/", {"scope": "project", "project": gaps.project.pk,
                                                              "format": "oscal-poam"}, format="json")
    assert response.status_code == 400
