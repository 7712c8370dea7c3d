"""Run the SCIM compliance checker `scim2-tester` (through its command line, `scim2 ... test` of
scim2-cli) against a SCIM endpoint, and read its report.

    report = run_scim2_tester("http://127.0.0.1:8000/scim/v2/", token)
    report.passed           # True when every check is SUCCESS (the command's own exit status is 0)
    report.results          # [ScimCheck(status="SUCCESS", title="object_creation", details=["..."])]
    report.failures         # the checks whose status is not SUCCESS
    report.output           # the command's output, for a closing note

The token goes in the SCIM_CLI_HEADERS environment variable, never on the command line (which other
users of the machine can read). tests/servers/README.md shows the command and its output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

STATUSES = ("SUCCESS", "COMPLIANT", "ACCEPTABLE", "DEVIATION", "ERROR", "CRITICAL", "SKIPPED")
_RESULT = re.compile(rf"^({'|'.join(STATUSES)}) (.+)$")


@dataclass
class ScimCheck:
    status: str
    title: str
    details: list[str] = field(default_factory=list)


@dataclass
class ScimReport:
    exit_code: int
    output: str
    results: list[ScimCheck]
    error: str | None  # the command's "Error: ..." line (server not reachable, authentication refused)

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and self.error is None and bool(self.results) and not self.failures

    @property
    def failures(self) -> list[ScimCheck]:
        return [r for r in self.results if r.status != "SUCCESS"]


def scim2_command() -> Path:
    return Path(sys.executable).parent / "scim2"


def parse_report(output: str, exit_code: int) -> ScimReport:
    results: list[ScimCheck] = []
    error = None
    for line in output.splitlines():
        match = _RESULT.match(line)
        if match:
            results.append(ScimCheck(status=match.group(1), title=match.group(2)))
        elif line.startswith("  ") and results:
            results[-1].details.append(line.strip())
        elif line.startswith("Error: "):
            error = line[len("Error: "):]
    return ScimReport(exit_code=exit_code, output=output, results=results, error=error)


def run_scim2_tester(url: str, token: str | None, *, verbose: bool = False, timeout: float = 600) -> ScimReport:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_CLI_")}
    env.update(NO_COLOR="1", NO_PROXY="127.0.0.1,localhost")
    if token is not None:
        env["SCIM_CLI_HEADERS"] = f"Authorization: Bearer {token}"
    argv = [str(scim2_command()), "--url", url, "test", *(["--verbose"] if verbose else [])]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)  # noqa: S603
    return parse_report(result.stdout + result.stderr, result.returncode)
