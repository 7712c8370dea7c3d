"""SARIF 2.1.0 from any tool, streamed: rules from `tool.driver` and `tool.extensions`, severity from
`security-severity` (a number or a word: DefectDojo #10191), `level`, the first location and
`partialFingerprints`. A run without results is valid (DefectDojo #14897): it says the tool found
nothing, so it closes that tool's open findings.

Two passes over the file: the first builds each run's tool (rules are few), the second yields the
results one at a time.
"""

from __future__ import annotations

import ijson

from .base import Opener, ParsedFinding, ParseOptions, Report, ReportError, clean, fingerprint, stream_objects, tool_key

LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "info"}
WORDS = {"critical": "critical", "high": "high", "medium": "medium", "moderate": "medium", "low": "low",
         "info": "info", "informational": "info", "none": "info", "note": "low", "warning": "medium", "error": "high"}
# Tools whose SARIF feeds a more specific check than static analysis.
TOOL_CHECKS = {
    "gitleaks": "source-secrets", "trufflehog": "source-secrets", "detect-secrets": "source-secrets",  # pragma: allowlist secret
    "trivy": "dependency-vulnerabilities", "grype": "dependency-vulnerabilities", "osv-scanner": "dependency-vulnerabilities",
    "pip-audit": "dependency-vulnerabilities", "dependency-check": "dependency-vulnerabilities",
    "modelscan": "model-serialization", "picklescan": "model-serialization", "fickling": "model-serialization",
}
DEFAULT_CHECK = "source-static-analysis"


def security_severity(raw) -> str | None:
    """GitHub's `security-severity`: a CVSS-like number (as number or string), or, from some tools, a word."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        score = float(raw)
    except (TypeError, ValueError):
        return WORDS.get(str(raw).strip().lower())
    if score >= 9:
        return "critical"
    if score >= 7:
        return "high"
    if score >= 4:
        return "medium"
    return "low" if score > 0 else "info"


def _rule_summary(rule: dict) -> dict:
    props = rule.get("properties") if isinstance(rule.get("properties"), dict) else {}
    config = rule.get("defaultConfiguration") if isinstance(rule.get("defaultConfiguration"), dict) else {}
    short = rule.get("shortDescription") if isinstance(rule.get("shortDescription"), dict) else {}
    name, text = str(rule.get("name") or ""), short.get("text") or ""
    return {"id": str(rule.get("id") or ""), "name": name, "short": text, "level": config.get("level"),
            "security_severity": props.get("security-severity"), "detail": clean(text or name, 300)}


class _Run:
    def __init__(self, tool: dict, options: ParseOptions, known: set[str]):
        driver = tool.get("driver") if isinstance(tool, dict) else None
        if not isinstance(driver, dict):
            raise ReportError("A SARIF run has no `tool.driver` object.")
        self.name = tool_key(str(driver.get("name") or options.tool))
        if not self.name:
            raise ReportError("A SARIF run's `tool.driver.name` is empty and no `tool` was given.")
        self.version = str(driver.get("semanticVersion") or driver.get("version") or "")[:60]
        props = driver.get("properties") if isinstance(driver.get("properties"), dict) else {}
        wanted = props.get("mlsec_check")  # the `mlsec scan` output names the portal check it ran
        self.check = wanted if wanted in known else TOOL_CHECKS.get(self.name, DEFAULT_CHECK)
        # The portal's own runner, run by `mlsec scan`, could not decide: the imported run cannot either.
        self.undecided = clean(props.get("summary"), 200) if wanted in known and props.get("status") == "error" else ""
        self.rules_by_id: dict[str, dict] = {}
        self.rules_by_index: list[dict] = []
        components = [driver] + [e for e in (tool.get("extensions") or []) if isinstance(e, dict)]
        for component in components:
            for rule in component.get("rules") or []:
                if isinstance(rule, dict):
                    summary = _rule_summary(rule)
                    if component is driver:
                        self.rules_by_index.append(summary)
                    self.rules_by_id.setdefault(summary["id"], summary)

    def rule_for(self, result: dict) -> dict:
        rule_id = result.get("ruleId")
        if rule_id is None and isinstance(result.get("rule"), dict):
            rule_id = result["rule"].get("id")
        if rule_id is not None and str(rule_id) in self.rules_by_id:
            return self.rules_by_id[str(rule_id)]
        index = result.get("ruleIndex")
        if isinstance(index, int | float) and 0 <= int(index) < len(self.rules_by_index):
            return self.rules_by_index[int(index)]
        return {"id": str(rule_id or ""), "name": "", "short": "", "level": None, "security_severity": None, "detail": ""}


def _severity(result: dict, rule: dict) -> str:
    props = result.get("properties") if isinstance(result.get("properties"), dict) else {}
    for raw in (props.get("security-severity"), rule["security_severity"]):
        found = security_severity(raw)
        if found:
            return found
    level = result.get("level") or rule["level"] or "warning"
    return LEVELS.get(str(level).lower(), "medium")


def _location(result: dict) -> tuple[str, str]:
    for location in result.get("locations") or []:
        physical = location.get("physicalLocation") if isinstance(location, dict) else None
        if isinstance(physical, dict):
            artifact = physical.get("artifactLocation") if isinstance(physical.get("artifactLocation"), dict) else {}
            region = physical.get("region") if isinstance(physical.get("region"), dict) else {}
            line = region.get("startLine")
            return str(artifact.get("uri") or "")[:400], str(int(line)) if isinstance(line, int | float) else ""
    return "", ""


def _checked(run: _Run, result, number: int) -> dict:
    """Validation in the request: the shape only (the worker builds the findings)."""
    if not isinstance(result, dict):
        raise ReportError(f"Result {number} of the {run.name} run is not an object.")
    return result


def _finding(run: _Run, result: dict, number: int) -> ParsedFinding:
    _checked(run, result, number)
    rule = run.rule_for(result)
    message = result.get("message") if isinstance(result.get("message"), dict) else {}
    text = clean(message.get("text") or rule["short"] or rule["name"] or rule["id"] or "finding", 280)
    uri, line = _location(result)
    partial = result.get("partialFingerprints") or result.get("fingerprints")
    if isinstance(partial, dict) and partial:
        key = fingerprint(rule["id"], *(f"{k}={v}" for k, v in sorted(partial.items())))
    else:
        key = fingerprint(rule["id"], uri, line, text)
    title = f"{rule['id']}: {text}" if rule["id"] else text
    return ParsedFinding(check=run.check, tool=run.name, severity=_severity(result, rule), title=title[:300],
                         fingerprint=key, detail=rule["detail"],
                         ref=f"{uri}:{line}" if line else uri, rule_id=rule["id"][:200])


def _first(opener: Opener, prefix: str):
    """The first value at `prefix` (ijson's C parser, stopping there: `version` is usually the first key)."""
    with opener() as fh:
        return next(iter(ijson.items(fh, prefix, use_float=True)), None)


def _shape(opener: Opener) -> tuple[str, str | None]:
    """(the document's first event, the event at `runs` or None), reading only as far as `runs` starts."""
    with opener() as fh:
        events = ijson.parse(fh)
        _, first, _ = next(events)
        if first != "start_map":
            return first, None
        for prefix, event, _ in events:
            if prefix == "runs" and event != "map_key":
                return first, event
    return first, None


def _header(opener: Opener) -> list[dict]:
    """Check the log's shape and return each run's `tool` (three passes of ijson's C parser, no Python
    loop over the results: this runs in the request)."""
    first, runs = _shape(opener)
    if first != "start_map":
        raise ReportError("Not a SARIF log: the file is not a JSON object.")
    version = _first(opener, "version")
    if version is None:
        raise ReportError("Not a SARIF log: it has no `version` (SARIF 2.1.0 is expected).")
    if str(version) != "2.1.0":
        raise ReportError(f"SARIF version {clean(version, 20)} is not supported: 2.1.0 is expected.")
    if runs is None:
        raise ReportError("Not a SARIF log: it has no `runs` array.")
    if runs != "start_array":
        raise ReportError("`runs` must be an array.")
    with opener() as fh:
        return list(ijson.items(fh, "runs.item.tool", use_float=True))


def parse(opener: Opener, options: ParseOptions, known_checks: set[str]) -> Report:
    try:
        runs = [_Run(tool, options, known_checks) for tool in _header(opener)]
    except ijson.JSONError as exc:
        raise ReportError(f"The file is not valid JSON: {clean(exc, 160)}.") from None
    report = Report(tools={r.name: r.check for r in runs}, tool_version=runs[0].version if len(runs) == 1 else "",
                    undecided={r.check: r.undecided for r in runs if r.undecided},
                    empty="" if runs else "the SARIF log has no run: no tool ran")

    def findings():
        if len(runs) == 1:  # the common case: ijson's C builder, no run bookkeeping
            with opener() as fh:
                try:
                    for number, result in enumerate(ijson.items(fh, "runs.item.results.item", use_float=True), 1):
                        yield _checked(runs[0], result, number) if options.validate_only else _finding(runs[0], result,
                                                                                                       number)
                except ijson.JSONError as exc:
                    raise ReportError(f"The file is not valid JSON: {clean(exc, 160)}.") from None
            return
        counts = [0] * len(runs)
        with opener() as fh:
            for _, index, result in stream_objects(fh, {"runs.item.results.item"}, "runs.item"):
                if not 0 <= index < len(runs):
                    raise ReportError("A SARIF run has results but no `tool`.")
                counts[index] += 1
                yield _finding(runs[index], result, counts[index])

    report.findings = findings()
    return report
