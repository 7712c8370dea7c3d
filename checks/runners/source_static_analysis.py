"""``source-static-analysis``: bandit over the project's Python code.

bandit runs in a subprocess (``python -I -m bandit -f json -q <files>``, the
files being the confined ``.py`` files of the tree) with a deadline: a crash
or hang in the analyser cannot take the worker down, and
``-I`` (isolated mode) keeps the scanned repository's own modules off
``sys.path`` — a repository containing a ``json.py`` must not run code in
the worker.

High-severity issues fail the check (one finding each: test id, file:line,
issue text).  Medium and low issues are listed (capped at 50 each) and counted
in the summary but do not fail.  A file bandit cannot parse is a low finding
"could not parse" and the rest still counts.  A missing source path, a tree
without Python files, or bandit failing as a whole is *error*: we cannot
vouch for code we did not see.  Quoted literals are removed from bandit's
issue texts because some tests (B105–B107) quote the suspected password.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

from .base import CheckContext, CheckResult, Finding, combine_status
from .common import SourceTreeCheck
from .paths import PathPolicy, walk_files

MAX_LISTED = 50
BATCH = 1000  # files per bandit invocation, well below the kernel's argument-size limit
_QUOTED = re.compile(r"""(['"]).*?\1""")


def redact(text: str) -> str:
    """bandit's text without quoted literals (B105–B107 quote the password) or token-like words."""
    from . import scrub

    return scrub(_QUOTED.sub("'<redacted>'", text), limit=400)


class SourceStaticAnalysisCheck(SourceTreeCheck):
    key = "source-static-analysis"
    title = "Static analysis (bandit)"
    practices = ("MLS-13",)
    default_schedule = "50 2 * * 1"
    time_limit_s = 300
    description = (
        "Runs bandit over the Python files of the project's source tree. High-severity issues such as "
        "shell=True subprocess calls, eval of input or unsafe deserialisation fail the check; medium and "
        "low issues are reported without failing; a tree without Python code is an error."
    )

    def run_tree(self, ctx: CheckContext, policy: PathPolicy, root: str) -> CheckResult:
        files: list[str] = []
        outside: list[Finding] = []
        for rel, _real, issue in walk_files(policy, root, prune=True):
            if issue is not None:
                outside.append(issue)  # not handed to bandit: nothing outside the roots is read
            elif rel.endswith(".py"):
                files.append(rel)
        if not files:
            return CheckResult("error", "no Python source found under the source path", outside)
        results: list[dict] = []
        errors: list[dict] = []
        timeout = max(30, self.time_limit_s - 30)
        deadline = time.monotonic() + timeout
        for start in range(0, len(files), BATCH):
            batch = [os.path.join(".", f) for f in files[start:start + BATCH]]
            try:
                # argv list, no shell; file names are prefixed with "./" so none can pass for an option
                proc = subprocess.run([sys.executable, "-I", "-m", "bandit", "-f", "json", "-q", *batch],  # noqa: S603
                                      cwd=root, capture_output=True, check=False,
                                      timeout=max(1.0, deadline - time.monotonic()),
                                      env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"})
            except subprocess.TimeoutExpired:
                return CheckResult("error", f"bandit did not finish within {timeout} s", outside)
            except OSError as exc:
                return CheckResult("error", f"bandit could not be started ({type(exc).__name__})", outside)
            try:
                report = json.loads(proc.stdout.decode("utf-8", "replace"))
                results += report["results"]
                errors += report.get("errors", [])
            except (ValueError, KeyError, TypeError):
                return CheckResult("error", f"bandit failed (exit {proc.returncode}, no JSON report)", outside)
            if proc.returncode not in (0, 1):
                return CheckResult("error", f"bandit failed (exit {proc.returncode})", outside)
        return _result(results, errors, outside, len(files))


def _clean(path: str) -> str:
    return os.path.normpath(path.removeprefix("./"))


def _result(results: list[dict], errors: list[dict], outside: list[Finding], python_files: int) -> CheckResult:
    by_severity: dict[str, list[dict]] = {"HIGH": [], "MEDIUM": [], "LOW": []}
    for item in results:
        by_severity.setdefault(str(item.get("issue_severity", "LOW")).upper(), []).append(item)
    findings: list[Finding] = []
    for level, severity in (("HIGH", "high"), ("MEDIUM", "medium"), ("LOW", "low")):
        items = sorted(by_severity.get(level, []), key=lambda r: (r.get("filename", ""), r.get("line_number", 0)))
        limit = None if level == "HIGH" else MAX_LISTED
        for item in items[:limit]:
            test_id = str(item.get("test_id", "B???"))
            ref = f"{_clean(str(item.get('filename', '?')))}:{item.get('line_number', 0)}"
            findings.append(Finding(
                severity, f"{test_id} {item.get('test_name', '')}".strip(),
                f"{redact(str(item.get('issue_text', '')))} (confidence {item.get('issue_confidence', '?')}, "
                f"{item.get('issue_cwe', {}).get('id') and 'CWE-' + str(item['issue_cwe']['id']) or 'no CWE'})",
                ref))
    for error in errors:
        findings.append(Finding("low", "could not parse", redact(str(error.get("reason", "")))[:200],
                                _clean(str(error.get("filename", "?")))))
    findings.extend(outside)
    counts = {level.lower(): len(items) for level, items in by_severity.items()}
    data = {"python_files": python_files, "issues": counts, "unparsed_files": len(errors),
            "by_test": _by_test(results)}
    status = combine_status(counts.get("high", 0) > 0, bool(outside))
    tail = f"{counts.get('medium', 0)} medium, {counts.get('low', 0)} low"
    if status == "failed":
        summary = f"{counts['high']} high-severity issue(s) ({tail})"
    elif status == "error":
        summary = f"some files are outside the allowed roots; no high-severity issue in the rest ({tail})"
    else:
        summary = f"no high-severity issue in {python_files} Python file(s) ({tail})"
    if errors:
        summary += f"; {len(errors)} file(s) could not be parsed"
    return CheckResult(status, summary, findings, data)


def _by_test(results: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in results:
        out[str(item.get("test_id"))] = out.get(str(item.get("test_id")), 0) + 1
    return out
