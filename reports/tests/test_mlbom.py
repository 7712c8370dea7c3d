"""The CycloneDX 1.6 ML-BOM of a project: valid against the schema cyclonedx-python-lib ships, round-trips
through the lib, carries the inventory, verdicts and findings, is in the signed bundle, and only for those
who may export the project."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cyclonedx.model.bom import Bom
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments.choices import AssessmentStatus
from assessments.tests.factories import ProjectFactory, make_assessment
from checks.models import CheckRun
from reports.bundle import verify_bundle
from reports.dataset import Scope, build_dataset
from reports.models import Report
from reports.renderers.cyclonedx_mlbom import NotOneProject, build_mlbom, mlbom_json
from reports.services import signing_public_key
from reports.tests.test_exports import download, export
from sources.models import Asset, AssetVersion, Source

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_bundle.py"
OLD_SHA, NEW_SHA, DATA_SHA = "a" * 64, "b" * 64, "c" * 64


def seed_inventory(project) -> dict:
    """A Git model with two versions (the newer failed its scan), an MLflow model, a dataset, an endpoint."""
    git = Source.objects.create(project=project, kind="git", name="repo",
                                config={"url": "https://git.example.test/fraud/model.git", "ref": "main"})
    mlflow = Source.objects.create(project=project, kind="mlflow", name="registry",
                                   config={"tracking_uri": "http://mlflow.example.test:5000", "models": ["scorer"]})
    Source.objects.create(project=project, kind="endpoint", name="serving",
                          config={"url": "https://api.example.test/v1/score?key=not-in-the-bom"})
    failed = CheckRun.objects.create(
        project=project, definition_id="model-serialization", status="failed", finished_at=timezone.now(),
        summary="1 unsafe model file", data={"scanners": {"picklescan": "0.0.1"}},
        findings=[{"severity": "critical", "title": "model.pkl imports os.system", "detail": "GLOBAL os.system",
                   "ref": "models/model.pkl"}, {"severity": "info", "title": "1 file scanned", "detail": "", "ref": ""}])
    CheckRun.objects.create(
        project=project, definition_id="dependency-vulnerabilities", status="failed", finished_at=timezone.now(),
        summary="1 known vulnerability",
        data={"vulnerabilities": [{"package": "pyyaml", "version": "5.3.1", "id": "GHSA-8q59-q68h-6hv4"}]},
        findings=[{"severity": "high", "title": "pyyaml 5.3.1: GHSA-8q59-q68h-6hv4", "detail": "pyyaml 5.3.1 is affected",
                   "ref": "GHSA-8q59-q68h-6hv4"},
                  {"severity": "low", "title": "unpinned requirement", "detail": "numpy>=1", "ref": "requirements.txt:3"}])
    model = Asset.objects.create(project=project, source=git, kind="model", name="models/model.pkl")
    old = AssetVersion.objects.create(asset=model, version="1111111", sha256=OLD_SHA, format="pickle",
                                      revision={"commit": "1111111", "path": "models/model.pkl"},
                                      verdicts={"model-serialization": {"status": "passed", "run": None}})
    AssetVersion.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    AssetVersion.objects.create(asset=model, version="2222222", sha256=NEW_SHA, format="pickle", size=120,
                                revision={"commit": "2222222", "path": "models/model.pkl"},
                                verdicts={"model-serialization": {"status": "failed", "run": failed.pk}})
    registered = Asset.objects.create(project=project, source=mlflow, kind="model", name="scorer")
    AssetVersion.objects.create(asset=registered, version="3", stage="Production",
                                revision={"model": "scorer", "version": "3", "run_id": "abc123"})
    data = Asset.objects.create(project=project, source=git, kind="dataset", name="data/train.csv")
    AssetVersion.objects.create(asset=data, version="2222222", sha256=DATA_SHA, format="csv",
                                revision={"commit": "2222222", "path": "data/train.csv"})
    return {"model": model, "registered": registered, "data": data, "failed": failed}


@pytest.fixture
def seeded(org):
    make_assessment(org.project, levels=2, status=AssessmentStatus.APPROVED)
    seed_inventory(org.project)
    return org


def project_dataset(project) -> dict:
    dataset = build_dataset(scope=Scope("project", project=project, teams=[project.team]), as_of=None,
                            generated_by="auditor", base_url="https://portal.example.test")
    return {**dataset, "projects": list(dataset["projects"])}


def validate(text: str) -> None:
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)  # the schema the lib ships, offline
    assert errors is None, errors


def test_the_mlbom_of_a_seeded_project_validates_against_cyclonedx_1_6(seeded):
    text = mlbom_json(project_dataset(seeded.project))
    validate(text)
    document = json.loads(text)
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    assert document["metadata"]["component"]["name"] == "Card fraud scorer"


def test_the_schema_validation_rejects_a_broken_bom_so_it_means_something(seeded):
    document = json.loads(mlbom_json(project_dataset(seeded.project)))
    document["components"][0]["type"] = "spaceship"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(document)) is not None


def test_the_mlbom_round_trips_through_cyclonedx_python_lib(seeded):
    text = mlbom_json(project_dataset(seeded.project))
    again = Bom.from_json(json.loads(text))  # type: ignore[attr-defined]
    original = build_mlbom(project_dataset(seeded.project))

    def key(bom):
        return sorted((c.type.value, c.name, c.version, tuple(h.content for h in c.hashes), c.bom_ref.value)
                      for c in bom.components)
    assert key(again) == key(original)
    assert {v.id for v in again.vulnerabilities} == {v.id for v in original.vulnerabilities}
    assert json.loads(JsonV1Dot6(again).output_as_string()) == json.loads(text)


def test_models_and_datasets_are_components_at_their_current_version_with_hash_and_source(seeded):
    document = json.loads(mlbom_json(project_dataset(seeded.project)))
    components = {c["name"]: c for c in document["components"]}
    model = components["models/model.pkl"]
    assert model["type"] == "machine-learning-model" and model["version"] == "2222222"  # not the older 1111111
    assert model["hashes"] == [{"alg": "SHA-256", "content": NEW_SHA}]
    refs = {r["type"]: r for r in model["externalReferences"]}
    assert refs["vcs"]["url"] == "https://git.example.test/fraud/model.git" and "2222222" in refs["vcs"]["comment"]
    assert refs["model-card"]["url"] == f"https://portal.example.test/projects/{seeded.project.pk}/"
    props = {p["name"]: p["value"] for p in model["properties"]}
    assert props["mlsec:verdict:model-serialization"] == "failed" and props["mlsec:revision:commit"] == "2222222"
    assert props["mlsec:model-card:dataset"] == "data/train.csv"
    assert components["data/train.csv"]["type"] == "data"
    scorer = components["scorer"]
    assert {r["type"]: r["url"] for r in scorer["externalReferences"]}["distribution"] == \
        "http://mlflow.example.test:5000/#/models/scorer/versions/3"
    library = components["pyyaml"]
    assert library["type"] == "library" and library["purl"] == "pkg:pypi/pyyaml@5.3.1"
    service = document["services"][0]
    assert service["endpoints"] == ["https://api.example.test/v1/score"]  # the query (a key) never exported
    root = document["metadata"]["component"]
    checks = {p["name"]: p["value"] for p in root["properties"] if p["name"].startswith("mlsec:check:")}
    assert checks == {"mlsec:check:dependency-vulnerabilities": "failed", "mlsec:check:model-serialization": "failed"}
    depends = next(d for d in document["dependencies"] if d["ref"] == root["bom-ref"])["dependsOn"]
    assert set(depends) == {c["bom-ref"] for c in document["components"]} | {service["bom-ref"]}


def test_failing_scans_and_advisories_are_vulnerabilities_affecting_the_right_component(seeded):
    document = json.loads(mlbom_json(project_dataset(seeded.project)))
    refs = {c["name"]: c["bom-ref"] for c in document["components"]}
    vulns = {v["id"]: v for v in document["vulnerabilities"]}
    advisory = vulns["GHSA-8q59-q68h-6hv4"]
    assert [a["ref"] for a in advisory["affects"]] == [refs["pyyaml"]]
    assert advisory["ratings"][0]["severity"] == "high" and advisory["source"]["name"] == "OSV"
    scans = [v for v in document["vulnerabilities"] if v["id"].startswith("MLSEC-model-serialization-")]
    assert len(scans) == 1  # the info finding is not a vulnerability
    assert [a["ref"] for a in scans[0]["affects"]] == [refs["models/model.pkl"]]  # only the version that failed
    assert scans[0]["ratings"][0]["severity"] == "critical"
    assert len(vulns) == 2  # the unpinned requirement is hygiene, not a vulnerability


def test_the_same_dataset_gives_the_same_bytes(seeded):
    dataset = project_dataset(seeded.project)
    assert mlbom_json(dataset) == mlbom_json(dataset)


def test_an_mlbom_needs_exactly_one_project(seeded):
    dataset = project_dataset(seeded.project)
    with pytest.raises(NotOneProject):
        build_mlbom({**dataset, "projects": []})


def test_a_version_recorded_after_the_moment_is_not_in_the_bom_its_predecessor_is(seeded):
    AssetVersion.objects.filter(version="2222222").update(created_at=timezone.now() + dt.timedelta(days=2))
    dataset = build_dataset(scope=Scope("project", project=seeded.project, teams=[seeded.project.team]),
                            as_of=None, generated_by="auditor")
    # moment is now: the newer version (created "in two days") is not in the inventory yet
    document = json.loads(mlbom_json({**dataset, "projects": list(dataset["projects"])}))
    names = {c["name"]: c.get("version") for c in document["components"]}
    assert names["models/model.pkl"] == "1111111" and "data/train.csv" not in names


# --- through the API: who may export it, and the bundle ----------------------------------------------

def test_a_member_exports_the_mlbom_of_their_project(seeded, api, django_capture_on_commit_callbacks):
    report = export(api, seeded.member, django_capture_on_commit_callbacks, scope="project",
                    project=seeded.project.pk, format="cyclonedx")
    assert report.filename.endswith(".cdx.json") and report.content_type == "application/vnd.cyclonedx+json"
    text = download(api, seeded.member, report).decode()
    validate(text)
    assert {c["name"] for c in json.loads(text)["components"]} >= {"models/model.pkl", "scorer", "data/train.csv"}


@pytest.mark.parametrize("who", ["auditor", "officer"])
def test_organisation_wide_roles_export_any_projects_mlbom(seeded, api, django_capture_on_commit_callbacks, who):
    report = export(api, getattr(seeded, who), django_capture_on_commit_callbacks, scope="project",
                    project=seeded.project.pk, format="cyclonedx")
    validate(download(api, getattr(seeded, who), report).decode())


@pytest.mark.parametrize("who", ["other_lead", "nobody"])
def test_no_mlbom_of_a_project_outside_ones_teams(seeded, api, who):
    response = api(getattr(seeded, who)).post("/api/v1/reports/", {"scope": "project", "project": seeded.project.pk,
                                                                  "format": "cyclonedx"}, format="json")
    assert response.status_code == 400
    assert not Report.objects.exists()


def test_anonymous_cannot_ask_for_an_mlbom(seeded, api):
    response = api().post("/api/v1/reports/", {"scope": "project", "project": seeded.project.pk,
                                              "format": "cyclonedx"}, format="json")
    assert response.status_code in (401, 403) and not Report.objects.exists()


@pytest.mark.parametrize("body", [{"scope": "team", "team": "fraud"}, {"scope": "org"}])
def test_an_mlbom_of_a_team_or_the_organisation_is_a_clear_400(seeded, api, body):
    response = api(seeded.officer).post("/api/v1/reports/", {**body, "format": "cyclonedx"}, format="json")
    assert response.status_code == 400 and "project scope" in json.dumps(response.data)
    assert not Report.objects.exists()


def test_the_project_bundle_carries_the_mlbom_in_its_signed_manifest(seeded, api, django_capture_on_commit_callbacks,
                                                                     tmp_path):
    report = export(api, seeded.lead, django_capture_on_commit_callbacks, scope="project", project=seeded.project.pk,
                    format="zip")
    path = tmp_path / "bundle.zip"
    path.write_bytes(download(api, seeded.lead, report))
    assert verify_bundle(path).ok
    fingerprint = signing_public_key()[1]  # what the settings page shows
    script = subprocess.run([sys.executable, "-I", str(SCRIPT), str(path), "--fingerprint", fingerprint],
                            capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert script.returncode == 0, script.stdout + script.stderr
    with zipfile.ZipFile(path) as zf:
        manifest = {f["path"]: f for f in json.loads(zf.read("manifest.json"))["files"]}
        bom = zf.read("cyclonedx-mlbom.json")
    assert manifest["cyclonedx-mlbom.json"]["sha256"] == hashlib.sha256(bom).hexdigest()
    validate(bom.decode())


def test_a_team_bundle_has_no_mlbom_but_still_verifies(seeded, api, django_capture_on_commit_callbacks, tmp_path):
    report = export(api, seeded.officer, django_capture_on_commit_callbacks, scope="team", team="fraud", format="zip")
    path = tmp_path / "bundle.zip"
    path.write_bytes(download(api, seeded.officer, report))
    assert verify_bundle(path).ok
    with zipfile.ZipFile(path) as zf:
        assert "cyclonedx-mlbom.json" not in zf.namelist()


def test_the_inventory_costs_the_same_queries_for_1_and_10_projects_with_assets(seeded):
    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            dataset = build_dataset(scope=Scope("team", team=seeded.team, teams=[seeded.team]), as_of=None,
                                    generated_by="test")
            projects = list(dataset["projects"])
        assert all(p["inventory"].get("assets") for p in projects)
        return len(ctx.captured_queries), len(projects)

    few, n = count()
    assert n == 1
    for _ in range(9):
        project = ProjectFactory(team=seeded.team)
        make_assessment(project, levels=3, status=AssessmentStatus.APPROVED)
        seed_inventory(project)
    many, n = count()
    assert n == 10 and many == few


# --- the page and the command ----------------------------------------------------------------------

def test_the_reports_page_queues_a_projects_mlbom_and_refuses_a_teams_with_a_form_error(seeded, client,
                                                                                       django_capture_on_commit_callbacks):
    from django.urls import reverse

    client.force_login(seeded.member)
    page = client.get(reverse("reports"))
    assert 'value="cyclonedx"' in page.content.decode()
    response = client.post(reverse("reports"), {"scope": "team", "team": "fraud", "format": "cyclonedx"})
    assert response.status_code == 200 and "choose the project scope" in response.content.decode()
    assert not Report.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports"), {"scope": "project", "project": seeded.project.pk,
                                                    "format": "cyclonedx"})
    assert response.status_code == 302
    (report,) = Report.objects.all()
    assert report.status == "ready" and report.requested_by == seeded.member


def test_the_export_command_writes_a_valid_mlbom(seeded, tmp_path):
    from django.core.management import call_command

    target = tmp_path / "bom.cdx.json"
    call_command("export_report", "--scope", "project", "--project", str(seeded.project.pk), "--format", "cyclonedx",
                 "--output", str(target))
    validate(target.read_text())
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="project scope"):
        call_command("export_report", "--scope", "team", "--team", "fraud", "--format", "cyclonedx",
                     "--output", str(tmp_path / "team.json"))
    assert not (tmp_path / "team.json").exists()


def test_hostile_names_and_urls_still_give_a_valid_bom_without_credentials():
    def asset(i, kind, source, revision, name):
        return {"id": i, "kind": kind, "name": name, "source": source,
                "version": {"version": "v 1/ü", "revision": revision, "sha256": "", "size": None, "format": "",
                            "stage": "", "verdicts": {}, "created_at": None}}
    assets = [
        asset(1, "model", {"id": 1, "kind": "s3", "name": "s", "config": {"bucket": "b"}},
              {"key": "models/my model ü#?.pkl"}, "s3://b/models/my model ü#?.pkl"),
        asset(2, "model", {"id": 2, "kind": "mlflow", "name": "m", "config": {"tracking_uri": "http://u:s3cret@h:5000/x?t=tok"}},  # pragma: allowlist secret
              {"model": "a/../b", "version": "3"}, "a/../b"),
        asset(3, "dataset", {"id": 3, "kind": "git", "name": "g", "config": {"url": "git@github.com:o/r.git"}}, {}, "d.csv"),
        asset(4, "model", {"id": 4, "kind": "git", "name": "g2", "config": {"url": "https://[::1"}}, {}, "x"),
        asset(5, "model", None, {}, "orphan"),
    ]
    dataset = {"generated_at": "2026-12-02T06:00:00+00:00", "as_of": "2026-12-02", "projects": [{
        "id": 1, "name": "P <b>", "team": "t", "url": None, "answers": [], "risk_acceptances": [],
        "check_runs": [{"id": 9, "check": "model-serialization", "status": "failed",
                        "findings": [{"severity": "weird", "title": "x\ny", "detail": "", "ref": ""}], "packages": []}],
        "inventory": {"assets": assets, "services": [{"id": 7, "kind": "endpoint", "name": "e",
                                                      "config": {"url": "not a url"}}]}}]}
    text = mlbom_json(dataset)
    validate(text)
    assert "s3cret" not in text and "tok" not in text
    urls = [r["url"] for c in json.loads(text)["components"] for r in c.get("externalReferences", [])]
    assert "s3://b/models/my%20model%20%C3%BC%23%3F.pkl" in urls  # '#' and '?' stay part of the key
    assert "http://h:5000/x/#/models/a%2F..%2Fb/versions/3" in urls
