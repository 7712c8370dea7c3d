"""The sandbox's warm start (checks/runners/forkserver.py): a fork of an interpreter that has imported
the scanners, with every limit of a spawned child (test_sandbox.py runs its tests both ways), and a
server that a hostile child can neither take over nor use to outlive its limits."""

from __future__ import annotations

import os
import threading
import time

import pytest

from checks.runners import forkserver, sandbox
from checks.tests import sandbox_runners

SCANNERS = ["modelscan.modelscan", "picklescan.scanner", "fickling.analysis", "detect_secrets"]


@pytest.fixture
def server(monkeypatch):
    forkserver.shutdown()
    monkeypatch.setenv(forkserver.ENABLED_ENV, "1")
    yield
    forkserver.shutdown()


def server_pid() -> int:
    assert forkserver._server is not None and not forkserver._server.broken
    return forkserver._server.proc.pid


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_forked_child_starts_with_the_scanners_imported_and_a_spawned_one_without(server, monkeypatch):
    forked = sandbox.run_sandboxed(sandbox_runners.loaded, SCANNERS, memory_mb=512, cpu_s=10)
    assert forked == dict.fromkeys(SCANNERS, True)
    monkeypatch.setenv(forkserver.ENABLED_ENV, "0")
    spawned = sandbox.run_sandboxed(sandbox_runners.loaded, SCANNERS, memory_mb=512, cpu_s=10)
    assert spawned == dict.fromkeys(SCANNERS, False)


def test_every_call_is_a_new_child_of_the_same_server(server):
    first = sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    second = sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    assert first["ppid"] == second["ppid"] == server_pid() != os.getpid()
    assert first["pid"] != second["pid"] and not alive(first["pid"])


PRY = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from checks.runners import sandbox
from checks.tests import sandbox_runners
print(json.dumps(sandbox.run_sandboxed(sandbox_runners.pry_at_parent, memory_mb=512, cpu_s=10)))
"""


def test_a_child_can_neither_read_nor_trace_its_server(tmp_path):
    """The server is undumpable: a child of the same user cannot read its memory or attach to it. Run
    without capabilities (as root, CAP_SYS_PTRACE would trace anything), with a server of its own."""
    import json
    import shutil
    import subprocess
    import sys

    from django.conf import settings

    assert os.geteuid() != 0 or shutil.which("setpriv"), "util-linux's setpriv drops root's capabilities here"
    drop = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"] if os.geteuid() == 0 else []
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           forkserver.ENABLED_ENV: "1"}
    out = subprocess.run([*drop, sys.executable, "-I", "-c", PRY, str(settings.BASE_DIR)], env=env, cwd=tmp_path,  # noqa: S603
                         capture_output=True, text=True, timeout=60, check=True).stdout
    tried = json.loads(out.strip().splitlines()[-1])
    assert tried == {"mem": "PermissionError", "environ": "PermissionError", "ptrace": "refused", "dumpable": "0"}


def test_a_child_that_kills_its_server_is_killed_too_and_the_next_call_gets_a_new_server(server):
    first_server = sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)["ppid"]
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxError):
        sandbox.run_sandboxed(sandbox_runners.kill_parent_and_linger, memory_mb=512, cpu_s=10, wall_s=30)
    assert time.monotonic() - started < 10  # not left to linger until its wall-clock limit
    assert not alive(first_server)
    after = sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    assert after["ppid"] == server_pid() != first_server


def test_a_child_past_its_wall_time_is_killed_with_what_it_started_and_the_server_goes_on(server, tmp_path):
    before = sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)["ppid"]
    pid_file = tmp_path / "grandchild"
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxError) as caught:
        sandbox.run_sandboxed(sandbox_runners.linger_with_grandchild, str(pid_file), memory_mb=512, cpu_s=10, wall_s=2)
    assert caught.value.kind == "time" and time.monotonic() - started < 10
    grandchild = int(pid_file.read_text())
    for _ in range(50):
        if not alive(grandchild):
            break
        time.sleep(0.1)
    assert not alive(grandchild)
    assert sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)["ppid"] == before == server_pid()


def test_two_threads_at_once_both_get_their_answers(server):
    sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)  # the server is up
    answers, errors = [], []

    def call():
        try:
            answers.append(sandbox.run_sandboxed(sandbox_runners.loaded, SCANNERS, memory_mb=512, cpu_s=10))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and len(answers) == 4  # one at a time forks, the others spawn


def test_a_server_inherited_through_a_fork_of_the_worker_is_left_to_its_owner(server):
    sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    inherited = forkserver._server
    inherited.owner = -1  # as a pool child forked from this process would see it
    answer = sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    assert answer["ppid"] == server_pid() != inherited.proc.pid
    assert alive(inherited.proc.pid)  # not stopped: it is its owner's
    inherited.owner = os.getpid()
    inherited.discard()


def test_a_bad_request_gets_no_child_and_the_server_stays_usable(server):
    sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    current = forkserver._server
    current.sock.send(b'{"memory": "lots"}')  # no descriptors, no valid limits
    assert current.receive(10, "test") == {"error": "bad request"}
    assert sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)["ppid"] == current.proc.pid


def test_switched_off_every_call_spawns(monkeypatch):
    forkserver.shutdown()
    monkeypatch.setenv(forkserver.ENABLED_ENV, "0")
    assert sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)["ppid"] == os.getpid()
    assert forkserver._server is None


PRY_WORKER = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
os.environ["DATABASE_URL"] = "postgres://portal:pw@db/portal"  # pragma: allowlist secret
from checks.runners import sandbox
from checks.tests import sandbox_runners
print(json.dumps(sandbox.run_sandboxed(sandbox_runners.pry_at, os.getpid(), memory_mb=512, cpu_s=10)))
"""


@pytest.mark.parametrize("start", ["1", "0"])
def test_a_child_can_read_neither_the_memory_nor_the_environment_of_the_worker(tmp_path, start):
    """The worker makes itself undumpable before its first sandboxed child (and a Celery worker at start),
    so a parser taken over cannot read the database URL or keys from /proc/<worker>/environ or /mem."""
    import json
    import subprocess
    import sys

    from django.conf import settings

    drop = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"] if os.geteuid() == 0 else []
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           forkserver.ENABLED_ENV: start}
    out = subprocess.run([*drop, sys.executable, "-I", "-c", PRY_WORKER, str(settings.BASE_DIR)], env=env, cwd=tmp_path,  # noqa: S603
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"mem": "PermissionError", "environ": "PermissionError"}


def test_the_celery_worker_is_undumpable_from_its_start():
    import ctypes

    from mlsec_portal.celery import protect_the_worker

    protect_the_worker()
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE


def test_an_interruption_while_the_server_forks_discards_it_and_no_later_call_reads_its_reply(server, monkeypatch):
    """Celery's soft time limit raises wherever the worker is: between the request and the pid, the server
    still owes that child's pid and exit status, so it is discarded rather than read out of turn."""
    class Interrupted(BaseException):
        pass

    sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    first = forkserver._server
    receive = forkserver.ForkServer.receive

    def interrupted_once(self, timeout, what):
        monkeypatch.setattr(forkserver.ForkServer, "receive", receive)
        raise Interrupted

    monkeypatch.setattr(forkserver.ForkServer, "receive", interrupted_once)
    with pytest.raises(Interrupted):
        sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    assert first.broken and not alive(first.proc.pid)
    answers = [sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10) for _ in range(3)]
    assert {a["ppid"] for a in answers} == {server_pid()} and server_pid() != first.proc.pid
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxError) as caught:  # the wall-clock kill still meets the right child
        sandbox.run_sandboxed(sandbox_runners.linger_with_grandchild, "/dev/null", memory_mb=512, cpu_s=10, wall_s=1)
    assert caught.value.kind == "time" and time.monotonic() - started < 7


def test_a_server_that_does_not_start_in_time_lets_the_calls_spawn_and_is_not_retried_at_once(server, monkeypatch, caplog):
    monkeypatch.setattr(forkserver, "START_TIMEOUT_S", 0.001)
    assert sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)["ppid"] == os.getpid()
    assert "spawn a fresh interpreter" in caplog.text
    monkeypatch.setattr(forkserver, "START_TIMEOUT_S", 60.0)
    assert sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)["ppid"] == os.getpid()
    assert forkserver._server is None  # not started again before RETRY_AFTER_S


def test_a_stopped_server_costs_a_call_seconds_not_minutes(server, monkeypatch):
    import signal

    monkeypatch.setattr(forkserver, "FORK_TIMEOUT_S", 0.5)

    sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    stopped = server_pid()
    os.kill(stopped, signal.SIGSTOP)  # as a process a child left behind might do
    started = time.monotonic()
    answer = sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    assert time.monotonic() - started < forkserver.FORK_TIMEOUT_S + 5
    assert answer["ppid"] == os.getpid() and not alive(stopped)


def test_a_server_is_replaced_after_its_share_of_children(server, monkeypatch):
    """Forks share their server's memory layout (ASLR) and stack canary: a server forks a bounded number."""
    monkeypatch.setattr(forkserver, "MAX_CHILDREN", 2)
    parents = [sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)["ppid"] for _ in range(5)]
    assert parents[0] == parents[1] != parents[2] == parents[3] != parents[4]


def test_a_process_forked_while_a_call_holds_the_lock_starts_free(server):
    import threading

    sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    assert forkserver._lock.acquire(blocking=False)  # as a call in another thread would hold it
    try:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report and leave at once
            os.write(write, b"%d%d" % (forkserver._lock.locked(), forkserver._server is None))
            os._exit(0)
        os.close(write)
        assert os.read(read, 2) == b"01"
        os.waitpid(pid, 0)
        os.close(read)
    finally:
        forkserver._lock.release()
    assert isinstance(forkserver._lock, type(threading.Lock())) and alive(server_pid())


def test_a_server_whose_worker_goes_removes_its_directory(server):
    sandbox.run_sandboxed(sandbox_runners.parentage, memory_mb=512, cpu_s=10)
    current = forkserver._server
    current.sock.close()  # the worker process ending, without a word
    current.proc.wait(10)
    assert not os.path.exists(current.workdir)
    forkserver._server = None


@pytest.mark.parametrize("start", ["1", "0"])
def test_a_process_left_holding_the_pipes_does_not_hold_the_worker(monkeypatch, start):
    forkserver.shutdown()
    monkeypatch.setenv(forkserver.ENABLED_ENV, start)
    monkeypatch.setattr(sandbox, "GRACE_S", 0.3)
    started = time.monotonic()
    assert sandbox.run_sandboxed(sandbox_runners.leave_holder_of_the_pipes, 60, memory_mb=512, cpu_s=10, wall_s=20) == "answered"
    assert time.monotonic() - started < 6  # the answer, then at most a grace period: not the holder's minute
    forkserver.shutdown()
