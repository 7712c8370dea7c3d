"""The sources and assets endpoints: every kind × role, bad input, write-only credentials, query counts."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from sources.models import Asset, AssetVersion, Source

SECRET = "s3cr3t-" + "Vq9" * 12  # pragma: allowlist secret


def config_for(kind, team_dir, team):
    return {
        "git": {"url": "https://git.example.com/org/repo.git", "ref": "main", "credential": {"token": SECRET}},
        "s3": {"endpoint_url": "https://s3.example.com", "bucket": "ml-models", "prefix": "models/",
               "region": "eu-west-1", "credential": {"access_key_id": "AKIAEXAMPLEKEY01", "secret_access_key": SECRET}},
        "mlflow": {"tracking_uri": "https://mlflow.example.com", "models": ["fraud"], "alias": "champion",
                   "credential": {"token": SECRET}},
        "path": {"path": str(team_dir(team)) if team_dir else "/nowhere"},
        "endpoint": {"url": "https://api.example.com/predict"},
    }[kind]


KINDS = ["git", "s3", "mlflow", "path", "endpoint"]
# role -> (may read, may write); the other team's lead sees nothing (404)
ROLES = {"lead": (True, True), "officer": (True, True), "admin": (True, True), "member": (True, False),
         "auditor": (True, False), "other_lead": (False, False)}


def make(org, kind, team_dir, name=None):
    from sources import services

    body = config_for(kind, team_dir, org.team)
    credential = body.pop("credential", None)
    return services.source_create(actor=org.lead, project=org.project, kind=kind, name=name or f"{kind} source",
                                  config=body, credential=credential)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_reads_and_changes_each_kind_of_source_as_allowed(org, api, team_dir, kind, role):
    may_read, may_write = ROLES[role]
    client = api(getattr(org, role))
    base = f"/api/v1/projects/{org.project.pk}/sources/"
    existing = make(org, kind, team_dir)
    listed = client.get(base)
    assert listed.status_code == (200 if may_read else 404)
    detail = client.get(f"{base}{existing.pk}/")
    assert detail.status_code == (200 if may_read else 404)
    if may_read:
        assert detail.json()["kind"] == kind and "credential" not in detail.json()
        assert SECRET not in json.dumps(listed.json()) + json.dumps(detail.json())
    body = {"kind": kind, "name": "new one", **config_for(kind, team_dir, org.team)}
    created = client.post(base, body, format="json")
    assert created.status_code == (201 if may_write else 403 if may_read else 404), created.content
    patched = client.patch(f"{base}{existing.pk}/", {"name": "renamed"}, format="json")
    assert patched.status_code == (200 if may_write else 403 if may_read else 404)
    assets = client.get(f"/api/v1/projects/{org.project.pk}/assets/")
    assert assets.status_code == (200 if may_read else 404)
    removed = client.delete(f"{base}{existing.pk}/")
    assert removed.status_code == (204 if may_write else 403 if may_read else 404)
    assert Source.objects.filter(pk=existing.pk).exists() is not may_write
    if kind != "path":
        return
    tested = api(getattr(org, role)).post(f"/api/v1/projects/{org.project.pk}/sources/{created.json()['id']}/test/"
                                          if may_write else f"{base}{make(org, kind, team_dir, 'another').pk}/test/")
    assert tested.status_code == (200 if role in ("lead", "officer", "admin", "member") else
                                  403 if may_read else 404)


def test_the_credential_is_write_only_encrypted_and_audited_without_its_value(org, api):
    client = api(org.lead)
    base = f"/api/v1/projects/{org.project.pk}/sources/"
    created = client.post(base, {"kind": "git", "name": "repo", **config_for("git", None, None)}, format="json")
    assert created.status_code == 201 and created.json()["has_credential"] is True
    source = Source.objects.get(pk=created.json()["id"])
    assert SECRET not in source.credential_encrypted and source.credential_encrypted
    changed = client.patch(f"{base}{source.pk}/", {"credential": {"token": "another-" + SECRET}}, format="json")
    assert changed.status_code == 200
    cleared = client.patch(f"{base}{source.pk}/", {"credential": {}}, format="json")
    assert cleared.json()["has_credential"] is False
    events = list(AuditEvent.objects.filter(action__startswith="source.").order_by("seq").values_list("action", "changes"))
    assert [a for a, _ in events] == ["source.create", "source.update", "source.update"]
    assert SECRET not in json.dumps([c for _, c in events])
    assert "credential" in events[1][1]["after"]  # that it changed, its value masked by the audit trail
    assert events[2][1]["after"]["has_credential"] is False
    export = api(org.auditor).get("/api/v1/audit-events/?page_size=500")
    assert SECRET not in json.dumps(export.json())


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "ftp", "name": "x"}, "kind"),
    ({"kind": "git", "name": "x", "url": "http://git.example.com/r.git"}, "url"),
    ({"kind": "git", "name": "x", "url": "file:///srv/repo.git"}, "url"),
    ({"kind": "git", "name": "x", "url": "https://user:pw@git.example.com/r.git"}, "url"),  # pragma: allowlist secret
    ({"kind": "git", "name": "x", "url": "https://git.example.com/r.git", "ref": "--upload-pack=evil"}, "ref"),
    ({"kind": "git", "name": "x", "url": "https://git.example.com/r.git?private_token=abc"}, "url"),
    ({"kind": "mlflow", "name": "x", "tracking_uri": "https://m.example.com/?token=abc", "models": ["a"]},
     "tracking_uri"),
    ({"kind": "git", "name": "x", "url": "https://git.example.com/r.git", "subdir": "../../etc"}, "subdir"),
    ({"kind": "git", "name": "x", "url": "https://git.example.com/r.git", "bucket": "b"}, "bucket"),
    ({"kind": "s3", "name": "x", "bucket": "Not_A_Bucket"}, "bucket"),
    ({"kind": "s3", "name": "x", "bucket": "ok-bucket", "credential": {"token": "t"}}, "credential"),
    ({"kind": "mlflow", "name": "x", "tracking_uri": "https://m.example.com", "models": []}, "models"),
    ({"kind": "mlflow", "name": "x", "tracking_uri": "https://m.example.com", "models": ["a"], "alias": "a",
      "stage": "Production"}, "alias"),
    ({"kind": "path", "name": "x", "path": "/etc"}, "path"),
    ({"kind": "endpoint", "name": "x", "url": "gopher://x"}, "url"),
])
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(org, api, body, field):
    answer = api(org.lead).post(f"/api/v1/projects/{org.project.pk}/sources/", body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()
    assert not Source.objects.exists()


def test_a_duplicate_name_or_a_kind_change_is_refused(org, api):
    client = api(org.lead)
    base = f"/api/v1/projects/{org.project.pk}/sources/"
    body = {"kind": "endpoint", "name": "api", "url": "https://api.example.com"}
    first = client.post(base, body, format="json")
    assert first.status_code == 201
    assert client.post(base, body, format="json").status_code == 400
    assert client.patch(f"{base}{first.json()['id']}/", {"kind": "git"}, format="json").status_code == 400


def test_check_targets_written_through_the_project_appear_as_sources(org, api, team_dir):
    directory = team_dir(org.team)
    answer = api(org.lead).patch(f"/api/v1/projects/{org.project.pk}/", {"check_targets": {
        "source_path": str(directory), "endpoint_url": "https://api.example.com/p"}}, format="json")
    assert answer.status_code == 200
    listed = api(org.member).get(f"/api/v1/projects/{org.project.pk}/sources/").json()["results"]
    assert {(s["kind"], s.get("path") or s.get("url")) for s in listed} == {
        ("path", str(directory)), ("endpoint", "https://api.example.com/p")}
    assert all(s["from_check_targets"] for s in listed)
    endpoint = next(s for s in listed if s["kind"] == "endpoint")
    api(org.lead).delete(f"/api/v1/projects/{org.project.pk}/sources/{endpoint['id']}/")
    org.project.refresh_from_db()
    assert org.project.check_targets == {"source_path": str(directory)}


def test_the_migration_turns_existing_check_targets_into_sources_and_runs_still_read_them(org, team_dir):
    import importlib

    from django.apps import apps

    from assessments.models import Project
    from sources.tests.conftest import run_now

    directory = team_dir(org.team)
    (directory / "app.py").write_text("import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n")
    targets = {"source_path": str(directory), "model_artifacts": [str(directory / "*.pt")],
               "endpoint_url": "https://api.example.com/p"}
    Project.objects.filter(pk=org.project.pk).update(check_targets=targets)  # configured before sources existed
    importlib.import_module("sources.migrations.0002_check_targets_become_sources").forwards(apps, None)
    made = {s.kind: s.config for s in Source.objects.filter(project=org.project, from_check_targets=True)}
    assert made == {"path": {"path": str(directory), "model_artifacts": [str(directory / "*.pt")]},
                    "endpoint": {"url": "https://api.example.com/p"}}
    org.project.refresh_from_db()
    run = run_now(org.project, "source-static-analysis")
    assert run.status == "failed" and any(f["ref"] == "app.py:5" for f in run.findings)


@pytest.mark.parametrize("path", ["sources", "assets"])
def test_lists_cost_the_same_queries_for_one_row_and_for_many(org, api, path):
    def fill(n):
        for i in range(n):
            source = Source.objects.create(project=org.project, kind="endpoint", name=f"s{i}-{Source.objects.count()}",
                                           config={"url": "https://x.example.com"})
            asset = Asset.objects.create(project=org.project, source=source, kind="model", name=f"m{source.pk}")
            for v in range(3):
                AssetVersion.objects.create(asset=asset, version=str(v), revision={"model": "m", "version": str(v)})

    client = api(org.member)
    url = f"/api/v1/projects/{org.project.pk}/{path}/"
    fill(1)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    fill(6)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(url).json()["results"]) > 1
    assert len(many) == len(one)


def test_the_openapi_schema_describes_sources_and_assets_with_the_names_of_api_md(org, client):
    import yaml

    client.force_login(org.member)
    schema = yaml.safe_load(client.get("/api/schema/").content)
    paths = schema["paths"]
    for path in ("/api/v1/projects/{project_pk}/sources/", "/api/v1/projects/{project_pk}/sources/{id}/",
                 "/api/v1/projects/{project_pk}/sources/{id}/test/", "/api/v1/projects/{project_pk}/sync/",
                 "/api/v1/projects/{project_pk}/assets/", "/api/v1/assets/{id}/"):
        assert path in paths, path
    assert set(paths["/api/v1/projects/{project_pk}/sources/{id}/"]) >= {"get", "patch", "delete"}
    schemas = schema["components"]["schemas"]
    source, request = schemas["Source"]["properties"], schemas.get("SourceRequest", schemas["Source"])["properties"]
    assert set(source) >= {"kind", "name", "url", "ref", "subdir", "endpoint_url", "bucket", "prefix", "region",
                           "tracking_uri", "models", "alias", "stage", "path", "has_credential",
                           "last_synced_at", "last_revision", "status", "status_detail"}
    assert "credential" in request and "credential" not in source  # write-only
    assert "has_credential" not in request
    version = schema["components"]["schemas"]["AssetVersion"]["properties"]
    assert set(version) >= {"version", "revision", "sha256", "size", "format", "created_at", "stage", "verdicts"}
    run = schema["components"]["schemas"]["CheckRun"]["properties"]
    assert {"source", "revision"} <= set(run)


def test_assets_outside_the_scope_answer_404_and_the_top_level_list_is_scoped(org, api):
    mine = Asset.objects.create(project=org.project, kind="model", name="fraud")
    theirs = Asset.objects.create(project=org.other_project, kind="dataset", name="clicks")
    client = api(org.member)
    assert client.get(f"/api/v1/assets/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/projects/{org.other_project.pk}/assets/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/projects/{org.project.pk}/assets/{theirs.pk}/").status_code == 404
    assert [a["id"] for a in client.get("/api/v1/assets/").json()["results"]] == [mine.pk]
    assert client.get(f"/api/v1/assets/?project={org.other_project.pk}").json()["count"] == 0
    assert api(org.auditor).get("/api/v1/assets/").json()["count"] == 2
    assert api(org.other_lead).post(f"/api/v1/projects/{org.project.pk}/sync/").status_code == 404
    assert api(org.auditor).post(f"/api/v1/projects/{org.project.pk}/sync/").status_code == 403
    assert api(org.member).post(f"/api/v1/projects/{org.project.pk}/sync/").status_code == 202
