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


def test_bandit_failing_as_a_whole_is_an_error_not_a_pass(tmp_path, monkeypatch):
    from checks.runners import source_static_analysis

    def broken(root, files):
        raise RuntimeError("a plugin failed to load")

    monkeypatch.setattr(source_static_analysis, "run_bandit", broken)
    (tmp_path / "ok.py").write_text("def f():\n    return 1\n")
    result = source_static_analysis.SourceStaticAnalysisCheck().run(make_ctx(tmp_path, source_path=str(tmp_path)))
    assert result.status == "error" and result.summary == "bandit failed (RuntimeError)"


def test_bandit_reports_as_its_command_line_does(tmp_path):
    """The API call gives the report `bandit -f json` gave: the same issues, file names, skipped files,
    for files the command line's default exclusions do not drop (test below)."""
    import os
    import subprocess
    import sys

    from checks.runners.source_static_analysis import run_bandit

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "tasks.py").write_text(RISKY + "\n\ndef quiet(cmd):\n    return eval(cmd)  # nosec\n")
    (tmp_path / "broken.py").write_text("def oops(:\n")
    files = ["pkg/tasks.py", "broken.py"]
    results, errors = run_bandit(str(tmp_path), files)
    cli = json.loads(subprocess.run([sys.executable, "-I", "-m", "bandit", "-f", "json", "-q", *[f"./{f}" for f in files]],  # noqa: S603
                                    cwd=tmp_path, capture_output=True, check=False).stdout)

    def key(item):  # the command line writes ././pkg/tasks.py for ./pkg/tasks.py: the same file
        return (os.path.normpath(item["filename"]), item["line_number"], item["test_id"], item["issue_severity"], item["issue_confidence"])

    assert sorted(map(key, results)) == sorted(map(key, cli["results"])) != []
    assert [(os.path.normpath(e["filename"]), e["reason"]) for e in errors] == [
        (os.path.normpath(e["filename"]), e["reason"]) for e in cli["errors"]] == [("broken.py", "syntax error while parsing AST from file")]
    assert [i["line_number"] for i in results if i["test_id"] == "B307"] == [9]  # line 13 says `# nosec`


def test_no_file_hides_from_bandit_behind_a_name_its_command_line_excludes(tmp_path):
    """`bandit` on the command line skips any path containing `.tox`, `CVS`, `.eggs`… by default."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "CVS_sync.py").write_text("def f(x):\n    return eval(x)\n")
    (tmp_path / ".tox_helpers").mkdir()
    (tmp_path / ".tox_helpers" / "run.py").write_text("import os\n\n\ndef g(c):\n    os.system(c)\n")
    result = check(tmp_path, tmp_path)
    refs = {f.ref for f in result.findings}
    assert {"tools/CVS_sync.py:2", ".tox_helpers/run.py:5"} <= refs, refs
