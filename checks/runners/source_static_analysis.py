"""``source-static-analysis``: bandit over the project's Python code.

bandit runs through its own API (``BanditManager``, the defaults of ``bandit -f json``: every
test, every severity and confidence, ``# nosec`` honoured) over the confined ``.py`` files of
the tree, in the runner's sandbox (``sandbox`` below: a child process with CPU, memory and
wall-clock limits, so a crash or hang in the analyser cannot take the worker down). bandit only
parses the files; the child's ``sys.path`` never holds the scanned tree (``python -I``, its own
empty working directory), so a repository containing a ``json.py`` runs no code. Until
2026-12-03 it ran as ``python -I -m bandit`` inside that child: a second interpreter whose start
and plugin loading were most of the check's CPU; the fork server (``forkserver.py``) now holds
bandit loaded.

High-severity issues fail the check (one finding each: test id, file:line,
issue text).  Medium and low issues are listed (capped at 50 each) and counted
in the summary but do not fail.  A file bandit cannot parse is a low finding
"could not parse" and the rest still counts.  A missing source path, a tree
without Python files, or bandit failing as a whole is *error*: we cannot
vouch for code we did not see.  Quoted literals are removed from bandit's
issue texts because some tests (B105–B107) quote the suspected password.
"""

from __future__ import annotations

import os
import re

from .base import CheckContext, CheckResult, Finding, combine_status
from .common import SourceTreeCheck
from .paths import PathPolicy, walk_files

MAX_LISTED = 50
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
        try:
            results, errors = run_bandit(root, files)
        except Exception as exc:  # noqa: BLE001 - bandit failing as a whole decides nothing
            return CheckResult("error", f"bandit failed ({type(exc).__name__})", outside)
        return _result(results, errors, outside, len(files))


def run_bandit(root: str, files: list[str]) -> tuple[list[dict], list[dict]]:
    """bandit's JSON report (``results`` and ``errors``) for these files of ``root``, as
    ``bandit -f json`` writes it: file names relative to the root, prefixed ``./``."""
    from bandit.core import config as bandit_config
    from bandit.core import constants
    from bandit.core import manager as bandit_manager

    manager = bandit_manager.BanditManager(bandit_config.BanditConfig(), "file", quiet=True)
    manager.discover_files([os.path.join(root, f) for f in files], recursive=False)
    manager.run_tests()

    def relative(path: str) -> str:
        return "./" + os.path.relpath(path, root)

    results = []
    for issue in manager.get_issue_list(sev_level=constants.LOW, conf_level=constants.LOW):
        item = issue.as_dict(with_code=False)
        item["filename"] = relative(item["filename"])
        results.append(item)
    errors = [{"filename": relative(name), "reason": reason} for name, reason in manager.get_skipped()]
    return results, errors


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
