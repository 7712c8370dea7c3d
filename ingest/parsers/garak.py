"""garak's `report.jsonl` (LLM red-team), one line at a time.

The `eval` entries carry, per probe and detector, how many attempts passed of how many were
evaluated; each pair with failing attempts is a finding (its severity from the failure rate), and
the pass rate of every pair is kept on the run. `init` / `start_run setup` name garak's version.
"""

from __future__ import annotations

from .base import Opener, ParsedFinding, ParseOptions, Report, ReportError, clean, fingerprint, iter_json_lines

CHECK = "imported-garak"


def _severity(failed: int, total: int) -> str:
    rate = failed / total if total else 1.0
    return "high" if rate >= 0.5 else "medium" if rate >= 0.1 else "low"


def _count(entry: dict, *names: str) -> int | None:
    for name in names:
        value = entry.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _scan(opener: Opener):
    started = False
    version = ""
    for number, entry in iter_json_lines(opener):
        if not isinstance(entry, dict) or "entry_type" not in entry:
            raise ReportError(f"Line {number} is not a garak report entry (no `entry_type`).")
        kind = entry["entry_type"]
        if kind in ("init", "start_run setup"):
            started = True
            version = version or str(entry.get("garak_version") or entry.get("_config.version") or "")[:60]
        elif kind == "eval":
            passed, total = _count(entry, "passed"), _count(entry, "total", "total_evaluated")
            if not entry.get("probe") or not entry.get("detector") or passed is None or total is None or passed > total:
                raise ReportError(f"Line {number}: an `eval` entry needs `probe`, `detector`, and `passed` <= `total`.")
            yield "eval", number, entry, passed, total
        if number == 1 and not started:
            raise ReportError("Not a garak report: the first entry is not `start_run setup` or `init`.")
    yield "end", 0, {"version": version, "started": started}, 0, 0


def parse(opener: Opener, options: ParseOptions, known_checks: set[str]) -> Report:
    report = Report(tools={"garak": CHECK})
    rates = []
    for kind, _, entry, passed, total in _scan(opener):
        if kind == "end":
            if not entry["started"]:
                raise ReportError("Not a garak report: no `start_run setup` or `init` entry.")
            report.tool_version = entry["version"]
        else:
            rates.append({"probe": clean(entry["probe"], 120), "detector": clean(entry["detector"], 120),
                          "passed": passed, "total": total})
    report.data = {"evaluations": rates[:500], "probes": len({r["probe"] for r in rates})}
    if not rates:
        report.empty = "the garak report evaluates no probe"

    def findings():
        for rate in rates:
            failed = rate["total"] - rate["passed"]
            if failed:
                pass_rate = 100 * rate["passed"] / rate["total"] if rate["total"] else 0
                yield ParsedFinding(
                    check=CHECK, tool="garak", severity=_severity(failed, rate["total"]),
                    rule_id=f"{rate['probe']}/{rate['detector']}"[:200], ref=rate["probe"],
                    title=clean(f"{rate['probe']} / {rate['detector']}: {failed} of {rate['total']} attempts failed", 300),
                    detail=f"pass rate {pass_rate:.1f}%", fingerprint=fingerprint(rate["probe"], rate["detector"]))

    report.findings = findings()
    return report
