"""The machinery under the fixtures: start-up errors carry the server's log, failed tests get the logs of
their servers, stopping ends the whole process group, cached tools are built once and never half."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from _pytest.reports import TestReport

from tests.servers import cache
from tests.servers.plugin import attach_server_logs
from tests.servers.process import ServerProcess, ServerStartError, listening_ports, port_accepts, port_of_process


def test_a_server_that_exits_at_start_raises_an_error_with_its_log(tmp_path):
    server = ServerProcess("doomed", [sys.executable, "-c", "print('config file is invalid'); raise SystemExit(3)"],
                           log_path=tmp_path / "doomed.log")

    with pytest.raises(ServerStartError) as failed:
        server.start(ready=port_of_process, timeout=10)

    assert "doomed exited with status 3" in str(failed.value)
    assert "config file is invalid" in str(failed.value)


def test_a_server_that_never_listens_is_stopped_after_the_timeout(tmp_path):
    server = ServerProcess("silent", [sys.executable, "-c", "import time; print('waiting'); time.sleep(60)"],
                           log_path=tmp_path / "silent.log")

    with pytest.raises(ServerStartError, match="not ready within 1 s"):
        server.start(ready=port_of_process, timeout=1)

    assert server.process.poll() is not None


def test_stopping_ends_the_children_of_the_server_too(tmp_path):
    code = ("import socket, subprocess, sys, time\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "print('CHILD-PID', child.pid, flush=True)\n"  # before it listens: written once it is ready
            "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); time.sleep(60)\n")
    server = ServerProcess("parent", [sys.executable, "-c", code], log_path=tmp_path / "parent.log")
    port = server.start(ready=port_of_process, timeout=10)
    child_pid = int(server.log_path.read_text().split("CHILD-PID ")[-1].split()[0])
    assert port in listening_ports(server.process.pid)

    server.stop(timeout=5)

    import psutil
    assert not psutil.pid_exists(child_pid) or psutil.Process(child_pid).status() == psutil.STATUS_ZOMBIE
    assert not port_accepts(port)


def test_a_failed_test_report_carries_the_logs_of_the_servers_it_used(tmp_path):
    log = tmp_path / "git-daemon.log"
    log.write_text("[123] Request upload-pack for '/missing.git'\n")
    server = SimpleNamespace(server_logs=lambda: [("git daemon", log)])
    item = SimpleNamespace(funcargs={"git_daemon": server, "tmp_path": tmp_path, "other": object()})
    failed = TestReport("t.py::x", ("t.py", 1, "x"), {}, "failed", "boom", "call", sections=[])
    passed = TestReport("t.py::y", ("t.py", 1, "y"), {}, "passed", None, "call", sections=[])

    attach_server_logs(item, failed)
    attach_server_logs(item, passed)

    assert failed.sections == [(f"git daemon log ({log})", "[123] Request upload-pack for '/missing.git'\n")]
    assert passed.sections == []


def test_a_cached_tool_is_built_once_and_an_interrupted_build_is_thrown_away(tmp_path, monkeypatch):
    monkeypatch.setenv("MLSEC_TEST_SERVERS_CACHE", str(tmp_path / "cache"))
    lock_file = tmp_path / "inputs.lock"
    lock_file.write_text("tool==1.0\n")
    builds = []

    def broken(target):
        (target / "half").write_text("x")
        raise RuntimeError("network went away")

    with pytest.raises(RuntimeError):
        cache.prepared("tool", [lock_file], broken)
    assert not any(p.is_dir() for p in (tmp_path / "cache").iterdir())

    def build(target):
        builds.append(target)
        (target / "bin").write_text("tool")

    first = cache.prepared("tool", [lock_file], build)
    second = cache.prepared("tool", [lock_file], build)
    lock_file.write_text("tool==2.0\n")
    third = cache.prepared("tool", [lock_file], build)

    assert first == second != third
    assert builds == [first, third]
    assert (first / ".complete").exists() and not (first / "half").exists()


def test_loadgroup_keeps_the_mlflow_tests_on_one_worker_under_pytest_9_and_leaves_other_groups_alone(tmp_path):
    """pytest-xdist 3.8.0 marks groups in a field pytest 9 ignores; the plugin puts ours where it reads."""
    (tmp_path / "test_grouped.py").write_text(
        "import os, pytest\n"
        "@pytest.fixture(scope='session')\n"
        "def mlflow_server():\n    return None\n"
        + "".join(f"@pytest.mark.xdist_group('pair')\ndef test_pair_{n}(): print(os.environ['PYTEST_XDIST_WORKER'])\n"
                  for n in range(4))
        + "".join(f"def test_heavy_{n}(mlflow_server): pass\n" for n in range(4))
        + "".join(f"def test_free_{n}(): pass\n" for n in range(4)))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist.plugin", "-p", "tests.servers.plugin", "-p", "no:cacheprovider",
         "-n", "2", "--dist", "loadgroup", "-v", "-c", str(tmp_path / "pytest.ini"),
         str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    workers: dict[str, set[str]] = {}
    for line in result.stdout.splitlines():
        if "PASSED" in line and "@" in line:
            worker, group = line.split("]", 1)[0].strip("["), line.rsplit("@", 1)[1].strip()
            workers.setdefault(group, set()).add(worker)
    assert set(workers) == {"mlflow-server"}  # "pair" stays as xdist 3.8.0 leaves it under pytest 9
    assert len(workers["mlflow-server"]) == 1, workers
