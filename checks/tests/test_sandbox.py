"""No denial of service by one team's files: parsing runs in a child process with limits, and the
scanners only ever see streams within the caps.

The hostile inputs are built here for real (a 1 MB PyTorch zip holding 1 GiB of opcodes); the
worker process's own peak memory is measured around each run. The sandbox's own names are imported
inside the tests that use them, so the behaviour tests also run against code without a sandbox.
"""

from __future__ import annotations

import os
import resource
import time
import zipfile

import pytest

from checks.runners import REGISTRY, run_check

from .conftest import make_ctx


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture
def sandboxed_checks(monkeypatch):
    from checks.tests.sandbox_runners import MemoryHog, Snoop, Spinner

    for check in (MemoryHog, Spinner, Snoop):
        monkeypatch.setitem(REGISTRY, check.key, check)


def test_a_runner_that_allocates_past_its_memory_limit_ends_as_error_and_the_worker_keeps_its_memory(
        tmp_path, sandboxed_checks, start):
    before = peak_rss_mb()
    result = run_check("memory-hog", make_ctx(tmp_path))
    assert result.status == "error" and "memory limit of 256 MB" in result.summary
    assert peak_rss_mb() - before < 100


def test_a_runner_that_spins_is_stopped_at_its_cpu_limit(tmp_path, sandboxed_checks, start):
    started = time.monotonic()
    result = run_check("spinner", make_ctx(tmp_path))
    assert result.status == "error" and "CPU limit of 1 s" in result.summary
    assert time.monotonic() - started < 15


@pytest.fixture(params=["forked", "spawned"])
def start(request, monkeypatch):
    """Every limit holds for a child forked by the warm fork server and for a freshly spawned one."""
    from checks.runners import forkserver

    forkserver.shutdown()  # a server started before the secrets below were set would not show them
    monkeypatch.setenv(forkserver.ENABLED_ENV, "1" if request.param == "forked" else "0")
    yield request.param
    forkserver.shutdown()


def test_the_child_runs_with_its_limits_in_an_empty_directory_without_the_workers_secrets(
        tmp_path, sandboxed_checks, monkeypatch, start):
    from checks.runners.base import ResourceLimits
    from checks.tests.sandbox_runners import Snoop

    monkeypatch.setenv("DJANGO_SECRET_KEY", "worker-secret")  # pragma: allowlist secret
    monkeypatch.setenv("DATABASE_URL", "postgres://portal:pw@db/portal")  # pragma: allowlist secret
    result = run_check("snoop", make_ctx(tmp_path, limits=ResourceLimits(memory_mb=700)))
    assert result.status == "passed", result.summary
    seen = result.data
    assert seen["pid"] != os.getpid() and seen["pgid"] == seen["pid"]  # a session and group of its own
    assert (seen["ppid"] == os.getpid()) == (start == "spawned")  # forked: a child of the fork server
    secrets = {"DJANGO_SECRET_KEY", "DATABASE_URL", "MLSEC_EVIDENCE_KEY"}
    assert not secrets & set(seen["environ"]) and not secrets & set(seen["born_with"])
    assert seen["cwd_entries"] == [] and seen["cwd"] != os.getcwd()
    assert seen["home"] == seen["cwd"] and seen["tmpdir"] == seen["cwd"]
    assert seen["cpu_limit"] == Snoop.time_limit_s and seen["cpu_used"] < 2  # a fork starts at zero CPU time
    if start == "spawned":
        assert seen["as_limit"] == 700 * 1024 * 1024
    else:  # the address space it was born with (the preloaded scanners) plus the call's memory
        assert 0 <= seen["as_limit"] - 700 * 1024 * 1024 <= seen["address_space"]
        assert seen["as_limit"] - seen["address_space"] > 600 * 1024 * 1024
    assert not os.path.exists(seen["cwd"])  # removed afterwards


def test_a_child_taken_over_by_a_file_cannot_run_code_in_the_worker_through_its_answer(start):
    from checks.runners import sandbox
    from checks.tests.sandbox_runners import write_bad_answer

    if os.path.exists("/tmp/mlsec-sandbox-pwned"):
        os.remove("/tmp/mlsec-sandbox-pwned")
    with pytest.raises(sandbox.SandboxError) as caught:
        sandbox.run_sandboxed(write_bad_answer, memory_mb=512, cpu_s=10)
    assert caught.value.kind == "crash"
    assert not os.path.exists("/tmp/mlsec-sandbox-pwned")


def test_an_oversized_answer_is_refused(start):
    from checks.runners import sandbox
    from checks.tests.sandbox_runners import huge_answer

    with pytest.raises(sandbox.SandboxError) as caught:
        sandbox.run_sandboxed(huge_answer, memory_mb=512, cpu_s=10)
    assert caught.value.kind == "output"


@pytest.mark.parametrize("key", ["model-serialization", "dataset-sensitive-data", "source-secrets",
                                 "source-static-analysis"])
def test_every_runner_that_parses_team_files_declares_a_sandbox(key):
    assert REGISTRY[key].sandbox is not None


# --- the PyTorch zip of 1 GiB of opcodes -----------------------------------------------------------

@pytest.fixture(scope="session")
def opcode_bomb(tmp_path_factory) -> str:
    """About 1 MB on disk: `archive/data.pkl` is a valid pickle of 1 GiB of NONE/POP opcodes."""
    path = tmp_path_factory.mktemp("bomb") / "model.pt"
    chunk = b"N0" * (4 * 1024 * 1024)  # 8 MiB, 4 Mi opcodes
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("archive/version", "3\n")
        with archive.open("archive/data.pkl", "w", force_zip64=True) as member:
            member.write(b"\x80\x02")
            for _ in range(128):
                member.write(chunk)
            member.write(b"N.")
    assert os.path.getsize(path) < 2 * 1024 * 1024
    return str(path)


@pytest.mark.slow
def test_a_small_zip_holding_a_gigabyte_of_opcodes_is_an_error_at_the_cap_and_the_worker_keeps_its_memory(
        opcode_bomb):
    before = peak_rss_mb()
    started = time.monotonic()
    root = os.path.dirname(opcode_bomb)
    result = run_check("model-serialization", make_ctx(root, model_artifacts=[opcode_bomb]))
    assert result.status == "error", result.summary
    finding = next(f for f in result.findings if f.ref == "model.pt")
    assert finding.title == "artifact exceeds a scanning limit"
    assert "archive/data.pkl unpacks to 1,073,741,828 bytes" in finding.detail
    assert result.data["files"]["model.pt"]["verdict"] == "error"
    assert peak_rss_mb() - before < 200
    assert time.monotonic() - started < 60


def test_a_pickle_with_more_opcodes_than_the_cap_is_an_error_and_no_other_scanner_reads_it(tmp_path, monkeypatch):
    import checks.runners.artifact_scan as artifact_scan
    import checks.runners.model_serialization as module
    import checks.runners.pickle_scan as scanners
    from checks.runners.base import ResourceLimits

    given = []
    monkeypatch.setattr(scanners, "picklescan_file", lambda path: given.append(path))
    monkeypatch.setattr(scanners, "modelscan_pickle", lambda *args: given.append(args))
    monkeypatch.setattr(scanners, "fickling_bytes", lambda *args: given.append(args))
    monkeypatch.setattr(artifact_scan, "analyze_pickles", lambda *args, **kwargs: given.append(args))
    (tmp_path / "many.pkl").write_bytes(b"\x80\x04" + b"N0" * 60_000 + b"N.")
    ctx = make_ctx(tmp_path, model_artifacts=[str(tmp_path / "many.pkl")],
                   limits=ResourceLimits(max_pickle_opcodes=100_000))
    result = module.ModelSerializationCheck().run(ctx)  # in this process, so the spies see every call
    assert result.status == "error"
    (finding,) = [f for f in result.findings if f.ref == "many.pkl"]
    assert finding.title == "artifact exceeds a scanning limit" and "100,000 pickle opcodes" in finding.detail
    assert given == []


def test_an_archive_with_too_many_members_is_an_error(tmp_path):
    from checks.runners.base import ResourceLimits

    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(30):
            archive.writestr(f"m/{index}.pkl", b"\x80\x04N.")
    ctx = make_ctx(tmp_path, model_artifacts=[str(path)], limits=ResourceLimits(max_archive_members=20))
    result = run_check("model-serialization", ctx)
    assert result.status == "error" and "30 archive members" in result.findings[0].detail


def test_a_model_within_the_caps_is_still_scanned_by_every_scanner(tmp_path):
    import pickle

    (tmp_path / "params.pkl").write_bytes(pickle.dumps({"weights": [0.5] * 1000}))
    result = run_check("model-serialization", make_ctx(tmp_path, model_artifacts=[str(tmp_path / "params.pkl")]))
    assert result.status == "passed", result.summary
    assert {"picklescan", "modelscan", "opcode-walk", "fickling"} <= set(result.data["files"]["params.pkl"]["scanned_by"])
