"""source-static-analysis: bandit HIGH issues fail, the rest is reported."""

from __future__ import annotations

import json

from checks.runners import run_check

from .conftest import make_ctx

KEY = "source-static-analysis"

RISKY = '''\
import subprocess


def run(cmd):
    return subprocess.call(cmd, shell=True)


def calc():
    return eval(input())
'''


def check(tmp_path, source):
    return run_check(KEY, make_ctx(tmp_path, source_path=str(source)))


def test_high_severity_fails_with_test_id(tmp_path):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "tasks.py").write_text(RISKY)
    (tmp_path / "svc" / "conf.py").write_text('DB_PASSWORD = "hunter2-not-real"\n')  # pragma: allowlist secret (bandit B105, low)
    (tmp_path / "svc" / "broken.py").write_text("def oops(:\n")
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "vendored.py").write_text("import os\nos.system(input())\n")
    result = check(tmp_path, tmp_path)
    assert result.status == "failed", result.summary
    high = [f for f in result.findings if f.severity == "high"]
    assert any(f.title.startswith("B602") and f.ref == "svc/tasks.py:5" for f in high)
    assert any(f.title.startswith("B404") for f in result.findings if f.severity == "low")
    assert any(f.title == "could not parse" and f.ref == "svc/broken.py" for f in result.findings)
    assert not any(".venv" in f.ref for f in result.findings)
    assert "hunter2-not-real" not in json.dumps(result.as_dict())  # B105 quotes the password: redacted
    assert result.data["issues"]["high"] >= 1 and result.data["unparsed_files"] == 1


def test_only_low_issues_pass(tmp_path):
    (tmp_path / "ok.py").write_text("import subprocess\n\n\ndef f():\n    return subprocess.run(['ls'], check=True)\n")
    result = check(tmp_path, tmp_path)
    assert result.status == "passed", result.findings
    assert "low" in result.summary


def test_clean_file_passes(tmp_path):
    (tmp_path / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    result = check(tmp_path, tmp_path)
    assert result.status == "passed" and result.findings == []


def test_missing_path_is_error(tmp_path):
    assert check(tmp_path, tmp_path / "missing").status == "error"


def test_no_python_files_is_error(tmp_path):
    (tmp_path / "README.md").write_text("docs only")
    result = check(tmp_path, tmp_path)
    assert result.status == "error" and "no Python source" in result.summary


def test_shadowing_module_in_repo_is_not_imported(tmp_path):
    (tmp_path / "json.py").write_text("raise SystemExit('repository code ran inside the check')\n")
    (tmp_path / "bandit.py").write_text("raise SystemExit('repository code ran inside the check')\n")
    result = check(tmp_path, tmp_path)
    assert result.status == "passed", result.summary
