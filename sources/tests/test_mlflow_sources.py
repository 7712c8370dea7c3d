"""Done when 3: a project following an MLflow registered model on a real `mlflow server`."""

import json
import uuid

import pytest

from checks.models import ArtifactBaseline, CheckRun
from sources import services as source_services
from sources.models import AssetVersion
from sources.tests.conftest import malicious_pickle, run_now, safetensors_bytes

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow-server")]
MLMODEL = "flavors:\n  python_function: {}\n"


def follow(project, actor, server, name, **extra):
    return source_services.source_create(actor=actor, project=project, kind="mlflow", name="registry",
                                         config={"tracking_uri": server.tracking_uri, "models": [name], **extra})


def test_the_schedule_lists_and_scans_new_versions_and_a_malicious_one_fails_and_is_not_baselined(
        org, workspaces, mlflow_server):
    from mlsec_portal.schedules import default_schedules
    from sources.tasks import sync_sources

    assert ("sources.tasks.sync_sources" in {task for _, task, _, _ in default_schedules()})
    name = f"fraud-{uuid.uuid4().hex[:8]}"
    mlflow_server.register_model_version(name, {"model.safetensors": safetensors_bytes(), "MLmodel": MLMODEL})
    follow(org.project, org.lead, mlflow_server, name)
    assert sync_sources() == 1  # what the beat schedule runs
    mlflow_server.register_model_version(name, {"model.safetensors": safetensors_bytes(b"\x03" * 16),
                                                "MLmodel": MLMODEL})
    assert sync_sources() == 1  # version 2, found without anyone pressing a button
    versions = {v.version: v for v in AssetVersion.objects.filter(asset__project=org.project)}
    assert set(versions) == {"1", "2"}
    assert versions["2"].verdicts["model-serialization"]["status"] == "passed"
    assert versions["2"].format == "safetensors" and len(versions["2"].sha256) == 64
    baseline = ArtifactBaseline.objects.get(project=org.project)
    assert f"mlflow:{name}/2/model.safetensors" in baseline.artifacts

    evil = mlflow_server.register_model_version(name, {"model.pkl": malicious_pickle(), "MLmodel": MLMODEL})
    assert sync_sources() == 1
    third = AssetVersion.objects.get(asset__project=org.project, version=evil.version)
    assert third.verdicts["model-serialization"]["status"] == "failed" and third.format == "pickle"
    assert third.revision["run_id"] == evil.run_id
    baseline.refresh_from_db()
    assert not any(key.startswith(f"mlflow:{name}/3/") for key in baseline.artifacts)  # never baselined
    run = CheckRun.objects.get(pk=third.verdicts["model-serialization"]["run"])
    assert run.status == "failed" and run.revision["version"] == "3"
    assert any(f["ref"] == f"mlflow:{name}/3/model.pkl" for f in run.findings)
    assert sync_sources() == 0  # nothing new: nothing scanned twice
    assert list(workspaces.iterdir()) == []


def test_a_check_run_reads_the_aliased_version_and_records_it(org, workspaces, mlflow_server, api):
    name = f"scorer-{uuid.uuid4().hex[:8]}"
    champion = mlflow_server.register_model_version(name, {"model.pkl": malicious_pickle()}, alias="champion")
    mlflow_server.register_model_version(name, {"model.safetensors": safetensors_bytes()})
    follow(org.project, org.lead, mlflow_server, name, alias="champion")
    run = run_now(org.project, "model-serialization")
    assert run.status == "failed"
    assert run.revision == {"model": name, "version": champion.version, "run_id": champion.run_id,
                            "artifact_uri": champion.source}
    body = api(org.member).get(f"/api/v1/check-runs/{run.pk}/").json()
    assert body["revision"]["version"] == champion.version and body["source"] == run.source_id
    assert "[workspace]" not in json.dumps(body) and str(workspaces) not in json.dumps(body)
    assert list(workspaces.iterdir()) == []


def test_an_unknown_model_or_alias_is_an_error_naming_the_source(org, workspaces, mlflow_server):
    follow(org.project, org.lead, mlflow_server, f"absent-{uuid.uuid4().hex[:8]}")
    run = run_now(org.project, "model-serialization")
    assert run.status == "error" and "mlflow source 'registry'" in run.summary
