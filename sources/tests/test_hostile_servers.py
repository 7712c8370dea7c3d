"""A hostile or broken source server never writes outside its workspace and never stops other teams' syncs
(found by a review: an MLflow version named "../../x" was written outside, and one failing source ended the
scheduled sync of every source after it)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sources import assets
from sources import services as source_services
from sources.fetch import FetchError, Limits
from sources.fetch import mlflow as mlflow_fetch
from sources.models import Source
from sources.tasks import sync_sources


@pytest.fixture
def hostile_mlflow():
    """An MLflow-shaped server whose alias names a version "../../../escaped" and whose search pages never end."""
    state = {"searches": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, body):
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):  # noqa: N802 - the http.server interface
            if "registered-models/alias" in self.path:
                return self._json({"model_version": {"name": "m", "version": "../../../escaped",
                                                     "source": "mlflow-artifacts:/x"}})
            if "model-versions/search" in self.path:
                state["searches"] += 1
                return self._json({"model_versions": [], "next_page_token": f"t{state['searches']}"})
            if "mlflow-artifacts/artifacts" in self.path and "path=" in self.path:
                return self._json({"files": [{"path": "evil.py", "is_dir": False, "file_size": 4}]})
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"pwn\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", state
    server.shutdown()


def mlflow_source(org, uri, **config):
    return source_services.source_create(actor=org.lead, project=org.project, kind="mlflow", name="registry",
                                         config={"tracking_uri": uri, "models": ["m"], **config})


def test_a_version_named_like_a_path_is_refused_and_nothing_is_written_outside(org, workspaces, hostile_mlflow,
                                                                             tmp_path):
    uri, _ = hostile_mlflow
    source = mlflow_source(org, uri, alias="prod")
    workspace = workspaces / "run"
    workspace.mkdir()
    with pytest.raises(FetchError):
        mlflow_fetch.fetch(source, str(workspace), Limits.from_settings())
    assert not any(p.name == "escaped" for p in tmp_path.rglob("*"))
    assert mlflow_fetch._safe("..") == "model" and mlflow_fetch._safe(".") == "model"


def test_a_server_handing_out_empty_pages_forever_is_read_a_bounded_number_of_times(org, workspaces, hostile_mlflow):
    uri, state = hostile_mlflow
    source = mlflow_source(org, uri)
    with pytest.raises(FetchError):
        mlflow_fetch.selected(source, Limits.from_settings(), "m")
    assert state["searches"] <= mlflow_fetch.MAX_PAGES


def test_one_source_failing_unforeseen_does_not_stop_the_sync_of_the_others(org, workspaces, monkeypatch):
    first = mlflow_source(org, "http://127.0.0.1:9")
    second = source_services.source_create(actor=org.other_lead, project=org.other_project, kind="mlflow",
                                           name="registry", config={"tracking_uri": "http://127.0.0.1:9",
                                                                    "models": ["m"]})
    synced = []

    def source_sync(source):  # fault injection: the first source's server answers something unforeseen
        if source.pk == first.pk:
            raise ValueError("invalid literal for int() with base 10: 'one'")
        synced.append(source.pk)
        return []

    monkeypatch.setattr(assets, "source_sync", source_sync)
    sync_sources()
    assert synced == [second.pk]
    failed = Source.objects.get(pk=first.pk)
    assert failed.status == "error" and "failed" in failed.status_detail


@pytest.fixture
def understating_mlflow():
    """An MLflow-shaped server that lists five artifacts as 0 bytes each and serves 3 MiB for each."""
    served = {"bytes": 0}
    chunk = b"\0" * (1024 * 1024)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, body):
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):  # noqa: N802 - the http.server interface
            if "registered-models/alias" in self.path:
                return self._json({"model_version": {"name": "m", "version": "1", "source": "mlflow-artifacts:/m"}})
            if "mlflow-artifacts/artifacts" in self.path and "path=" in self.path:
                return self._json({"files": [{"path": f"m/part{i}.bin", "is_dir": False, "file_size": 0}
                                             for i in range(5)]})
            self.send_response(200)
            self.send_header("Content-Length", str(3 * len(chunk)))
            self.end_headers()
            try:
                for _ in range(3):
                    self.wfile.write(chunk)
                    served["bytes"] += len(chunk)
            except OSError:
                pass  # the portal hung up once its budget was spent

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", served
    server.shutdown()


def test_artifacts_count_by_what_arrives_not_by_the_sizes_the_server_declares(org, workspaces, understating_mlflow):
    uri, _ = understating_mlflow
    source = mlflow_source(org, uri, alias="prod")
    workspace = workspaces / "run"
    workspace.mkdir()
    limits = Limits.from_settings()
    limits.max_bytes = 8 * 1024 * 1024  # room for two of the five files the server calls empty
    with pytest.raises(FetchError, match="larger than the 8 MB"):
        mlflow_fetch.fetch(source, str(workspace), limits)
    written = sum(p.stat().st_size for p in workspace.rglob("*") if p.is_file())
    assert written <= limits.max_bytes + 1


def test_a_guarded_download_into_a_file_streams_it_instead_of_holding_it(understating_mlflow, tmp_path):
    from checks.runners import netguard

    uri, _ = understating_mlflow
    with open(tmp_path / "artifact", "wb") as sink:
        answer = netguard.request(f"{uri}/api/2.0/mlflow-artifacts/artifacts/m/part0.bin",
                                  allowed=netguard.parse_networks(["127.0.0.0/8"]), max_body=10 * 1024 * 1024,
                                  sink=sink)
    assert (answer.status, answer.body, answer.streamed) == (200, b"", 3 * 1024 * 1024)
    assert (tmp_path / "artifact").stat().st_size == 3 * 1024 * 1024


def test_the_download_budget_is_the_runs_not_each_models(org, workspaces, understating_mlflow):
    """Found by review: the budget restarted for each followed model, so 50 models meant 50 budgets."""
    uri, _ = understating_mlflow
    source = mlflow_source(org, uri, alias="prod")
    Source.objects.filter(pk=source.pk).update(config={**source.config, "models": ["m", "n", "o"]})
    source.refresh_from_db()
    workspace = workspaces / "run"
    workspace.mkdir()
    limits = Limits.from_settings()
    limits.max_bytes = 20 * 1024 * 1024  # room for six of one model's five 3 MiB files, not for fifteen
    with pytest.raises(FetchError, match="larger than the 20 MB"):
        mlflow_fetch.fetch(source, str(workspace), limits)
    written = sum(p.stat().st_size for p in workspace.rglob("*") if p.is_file())
    assert written <= limits.max_bytes + 1


def test_an_error_answer_is_never_read_past_a_short_page(tmp_path):
    """A non-200 answer to a streamed download is an error page: at most 64 KiB of it is read into memory."""
    from checks.runners import netguard

    class Huge(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 - the http.server interface
            self.send_response(500)
            self.send_header("Content-Length", str(8 * 1024 * 1024))
            self.end_headers()
            try:
                self.wfile.write(b"x" * (8 * 1024 * 1024))
            except OSError:
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with open(tmp_path / "artifact", "wb") as sink:
            answer = netguard.request(f"http://127.0.0.1:{server.server_port}/a", sink=sink,
                                      allowed=netguard.parse_networks(["127.0.0.0/8"]), max_body=64 * 1024 * 1024)
    finally:
        server.shutdown()
    assert answer.status == 500 and len(answer.body) <= netguard.ERROR_BODY_CAP and answer.streamed == 0
