"""The load test's check workers capped at a share of a core (checks/worker_processes.py)."""

import subprocess

import pytest

from checks.worker_processes import CpuLimitUnavailable, cpu_cgroup, in_cgroup


def test_a_cgroup_v2_hierarchy_gets_cpu_max(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    procs = cpu_cgroup("mlsec-loadtest-checks", 0.5, root=tmp_path)
    assert procs == tmp_path / "mlsec-loadtest-checks" / "cgroup.procs"
    assert (tmp_path / "mlsec-loadtest-checks" / "cpu.max").read_text() == "50000 100000\n"


def test_a_cgroup_v1_cpu_controller_gets_a_quota(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")  # a unified hierarchy without cpu: v1's
    (tmp_path / "cpu").mkdir()
    procs = cpu_cgroup("mlsec-loadtest-checks", 0.3, root=tmp_path)
    group = tmp_path / "cpu" / "mlsec-loadtest-checks"
    assert procs == group / "cgroup.procs"
    assert (group / "cpu.cfs_quota_us").read_text() == "30000\n"
    assert (group / "cpu.cfs_period_us").read_text() == "100000\n"


def test_no_controller_or_no_right_is_said_not_ignored(tmp_path):
    with pytest.raises(CpuLimitUnavailable):
        cpu_cgroup("x", 0.5, root=tmp_path)
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "x").write_text("a file where the group should be")
    with pytest.raises(CpuLimitUnavailable):
        cpu_cgroup("x", 0.5, root=tmp_path)
    with pytest.raises(ValueError):
        cpu_cgroup("y", 0, root=tmp_path)


def test_the_command_joins_the_group_before_it_runs(tmp_path):
    procs = tmp_path / "cgroup.procs"
    done = subprocess.run(in_cgroup(procs, ["sh", "-c", 'echo "$$"']), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    # The shell wrote its own pid, then exec'd the command in the same process: the command is that pid.
    assert procs.read_text().strip() == done.stdout.strip()


def test_a_group_that_refuses_the_process_stops_the_command(tmp_path):
    marker = tmp_path / "ran"
    done = subprocess.run(in_cgroup(tmp_path / "missing" / "cgroup.procs", ["touch", str(marker)]),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert not marker.exists()
