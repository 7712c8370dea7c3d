"""The benchmark commands write to their database, so they refuse any whose name does not say bench."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["bench_exports", "bench_audit"])
def test_the_benchmarks_refuse_a_database_that_is_not_a_bench_database(command):
    with pytest.raises(CommandError, match="bench"):
        call_command(command)


def test_a_child_reports_its_own_peak_not_the_parents(tmp_path):
    """`ru_maxrss` from wait4 carries a large parent's size into its child on Linux; VmHWM does not."""
    from conftest import require
    from reports.management.commands.bench_exports import own_peak_kb

    require(own_peak_kb() is not None, "no /proc/self/status on this system (Linux's)")
    parent = textwrap.dedent("""
        import os, subprocess, sys
        ballast = bytearray(300 << 20)  # 300 MiB resident in the parent
        for i in range(0, len(ballast), 4096):
            ballast[i] = 1
        child = subprocess.Popen([sys.executable, "-c",
            "from reports.management.commands.bench_exports import own_peak_kb; print(own_peak_kb())"],
            stdout=subprocess.PIPE, text=True)
        _, _, usage = os.wait4(child.pid, 0)
        print(child.stdout.read().strip(), usage.ru_maxrss)
    """)
    result = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    own, inherited = (int(x) for x in result.stdout.split())
    assert own < 100 << 10, own  # the child's own interpreter: tens of MB
    assert inherited > 250 << 10, inherited  # what wait4 says: the parent's size (why it is not used)
