"""A real `mlflow server` on 127.0.0.1: SQLite backend store, local artifact root served through the server.

The server runs in a virtualenv of its own (tests/servers/requirements-mlflow.txt, built once into the
cache, see cache.py): MLflow's pins (gunicorn<27, pyarrow<26) conflict with the portal's.

    version = mlflow_server.register_model_version("fraud-model", {"model.pkl": data}, alias="champion")
    version.name, version.version, version.run_id, version.source   # source: mlflow-artifacts:/<exp>/<run>/...
    mlflow_server.download_artifact(version.source + "/model.pkl")   # bytes, through the REST API
    mlflow_server.api("GET", "registered-models/get", params={"name": "fraud-model"})
    mlflow_server.python                                               # the MLflow client, for a subprocess

Registration uses MLflow's REST API (runs/create, the mlflow-artifacts proxy, registered-models/create,
model-versions/create, registered-models/alias), the calls a client of the portal makes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from tests.servers.cache import mlflow_python
from tests.servers.process import LOOPBACK, ServerProcess, isolated_env, port_from_log


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    run_id: str
    source: str  # mlflow-artifacts:/<experiment id>/<run id>/artifacts/<artifact path>
    files: tuple[str, ...]


class MlflowError(RuntimeError):
    pass


class MlflowServer:
    def __init__(self, workdir: Path, log_path: Path):
        self.workdir = Path(workdir)
        self.log_path = Path(log_path)
        self.server: ServerProcess | None = None
        self.python: Path | None = None
        self.session = requests.Session()
        self.session.trust_env = False

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def tracking_uri(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> MlflowServer:
        self.python = mlflow_python()
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [str(self.python), "-m", "mlflow", "server",
                "--backend-store-uri", f"sqlite:///{self.workdir / 'mlflow.db'}",
                "--artifacts-destination", str(self.workdir / "artifacts"),
                "--serve-artifacts", "--host", LOOPBACK, "--port", "0", "--workers", "1"]
        env = isolated_env({"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "PYTHONUNBUFFERED": "1",
                            "MLFLOW_TRACKING_URI": ""}, home=self.workdir)
        self.server = ServerProcess("mlflow server", argv, log_path=self.log_path, env=env, cwd=self.workdir)
        self.server.start(ready=port_from_log(r"Uvicorn running on http://127\.0\.0\.1:(\d+)"), timeout=120)
        self._wait_healthy()
        return self

    def _wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.session.get(f"{self.tracking_uri}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise self.server.error("answered no /health")

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    def server_logs(self) -> list[tuple[str, Path]]:
        return [("mlflow server", self.log_path)]

    def api(self, method: str, endpoint: str, **kwargs) -> dict:
        """One call of the REST API (`/api/2.0/mlflow/<endpoint>`), its JSON answer; MlflowError otherwise."""
        response = self.session.request(method, f"{self.tracking_uri}/api/2.0/mlflow/{endpoint}", timeout=30,
                                        **kwargs)
        if response.status_code != 200:
            raise MlflowError(f"{method} {endpoint}: {response.status_code} {response.text[:500]}")
        return response.json()

    def _artifact_url(self, uri: str) -> str:
        prefix = "mlflow-artifacts:/"
        if not uri.startswith(prefix):
            raise ValueError(f"not an mlflow-artifacts URI: {uri}")
        return f"{self.tracking_uri}/api/2.0/mlflow-artifacts/artifacts/{quote(uri[len(prefix):].lstrip('/'))}"

    def upload_artifact(self, uri: str, data: bytes) -> None:
        response = self.session.put(self._artifact_url(uri), data=data, timeout=60)
        if response.status_code != 200:
            raise MlflowError(f"upload to {uri}: {response.status_code} {response.text[:500]}")

    def download_artifact(self, uri: str) -> bytes:
        response = self.session.get(self._artifact_url(uri), timeout=60)
        if response.status_code != 200:
            raise MlflowError(f"download of {uri}: {response.status_code} {response.text[:500]}")
        return response.content

    def register_model_version(self, name: str, files: dict[str, bytes | str], *, artifact_path: str = "model",
                               alias: str | None = None, tags: dict[str, str] | None = None,
                               experiment_id: str = "0") -> ModelVersion:
        """A finished run holding `files` under `artifact_path`, registered as the next version of `name`."""
        run = self.api("POST", "runs/create", json={"experiment_id": experiment_id,
                                                    "start_time": int(time.time() * 1000)})["run"]["info"]
        source = f"{run['artifact_uri']}/{artifact_path}"
        for relative, data in files.items():
            self.upload_artifact(f"{source}/{relative}", data.encode() if isinstance(data, str) else data)
        self.api("POST", "runs/update", json={"run_id": run["run_id"], "status": "FINISHED",
                                              "end_time": int(time.time() * 1000)})
        try:
            self.api("POST", "registered-models/create", json={"name": name})
        except MlflowError as exc:
            if "RESOURCE_ALREADY_EXISTS" not in str(exc):
                raise
        payload = {"name": name, "source": source, "run_id": run["run_id"],
                   "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        version = self.api("POST", "model-versions/create", json=payload)["model_version"]
        self._wait_ready(name, version["version"])
        if alias:
            self.api("POST", "registered-models/alias", json={"name": name, "alias": alias,
                                                              "version": version["version"]})
        return ModelVersion(name=name, version=version["version"], run_id=run["run_id"], source=source,
                            files=tuple(files))

    def _wait_ready(self, name: str, version: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.api("GET", "model-versions/get", params={"name": name, "version": version})
            if status["model_version"].get("status", "READY") == "READY":
                return
            time.sleep(0.1)
        raise MlflowError(f"{name} version {version} did not become READY")
