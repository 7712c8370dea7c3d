"""The MLflow fixture is a real tracking server: versions registered over REST are what MLflow's own client
downloads, aliases resolve, and a missing model is an error."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess

import pytest

from tests.servers.mlflow_server import MlflowError

pytestmark = pytest.mark.slow  # the first use builds MLflow's virtualenv (about a minute), then ~5 s to start


def test_a_registered_version_lists_in_the_registry_and_its_artifact_downloads_through_the_rest_api(
        mlflow_server):
    model = pickle.dumps({"weights": [0.1, 0.2]})
    first = mlflow_server.register_model_version("fraud-model", {"model.pkl": model, "MLmodel": "flavors: {}\n"})
    second = mlflow_server.register_model_version("fraud-model", {"model.pkl": b"v2"}, alias="champion")

    assert (first.version, second.version) == ("1", "2")
    listed = mlflow_server.api("GET", "registered-models/get", params={"name": "fraud-model"})["registered_model"]
    assert listed["aliases"] == [{"alias": "champion", "version": "2"}]
    found = mlflow_server.api("GET", "model-versions/search", params={"filter": "name='fraud-model'"})
    assert sorted(v["version"] for v in found["model_versions"]) == ["1", "2"]
    by_alias = mlflow_server.api("GET", "registered-models/alias", params={"name": "fraud-model", "alias": "champion"})
    assert by_alias["model_version"]["run_id"] == second.run_id

    uri = mlflow_server.api("GET", "model-versions/get-download-uri",
                            params={"name": "fraud-model", "version": "1"})["artifact_uri"]
    assert uri == first.source
    assert mlflow_server.download_artifact(f"{uri}/model.pkl") == model
    assert mlflow_server.tracking_uri.startswith("http://127.0.0.1:")


def test_mlflows_own_client_downloads_the_version_registered_through_rest(mlflow_server, tmp_path):
    data = b"\x80\x04K\x2a."  # pickle of 42
    version = mlflow_server.register_model_version("client-check", {"model.pkl": data, "conf/params.json": "{}"})
    script = (
        "import hashlib, json, pathlib, sys, mlflow\n"
        "mlflow.set_tracking_uri(sys.argv[1])\n"
        "path = pathlib.Path(mlflow.artifacts.download_artifacts(artifact_uri=sys.argv[2], dst_path=sys.argv[3]))\n"
        "files = {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in path.rglob('*')"
        " if p.is_file()}\n"
        "print(json.dumps(files))\n"
    )

    result = subprocess.run([str(mlflow_server.python), "-c", script, mlflow_server.tracking_uri,
                             f"models:/client-check/{version.version}", str(tmp_path / "download")],
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr[-3000:]
    files = json.loads(result.stdout.strip().splitlines()[-1])
    assert files == {"model.pkl": hashlib.sha256(data).hexdigest(),
                     "conf/params.json": hashlib.sha256(b"{}").hexdigest()}


def test_a_model_that_does_not_exist_is_an_error_naming_it(mlflow_server):
    with pytest.raises(MlflowError, match="RESOURCE_DOES_NOT_EXIST"):
        mlflow_server.api("GET", "registered-models/get", params={"name": "no-such-model"})
