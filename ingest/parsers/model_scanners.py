"""Model scanners' reports: modelscan JSON, fickling `--json-output`, picklescan's text output.

They feed `model-serialization`, the check the portal runs itself on model files. A scanner error
(a file it could not read) means the scan could not decide: the run ends `error` unless something
failed.
"""

from __future__ import annotations

import re

from .base import Opener, ParsedFinding, ParseOptions, Report, ReportError, clean, fingerprint, load_json, tool_key

CHECK = "model-serialization"
LIMIT = 20 * 1024 * 1024
MODELSCAN_SEVERITY = {"critical": "critical", "high": "high", "medium": "medium", "low": "low"}
# fickling's Severity names, from safest to worst.
FICKLING_SEVERITY = {"LIKELY_SAFE": None, "POSSIBLY_UNSAFE": "medium", "SUSPICIOUS": "high", "LIKELY_UNSAFE": "high",
                     "LIKELY_OVERTLY_MALICIOUS": "critical", "OVERTLY_MALICIOUS": "critical"}
PICKLESCAN_HIT = re.compile(r"^(?P<file>.+?): (?P<kind>dangerous|suspicious|innocuous) import '(?P<module>\S+) (?P<name>[^']+)' FOUND")
PICKLESCAN_ERROR = re.compile(r"^(?:ERROR: parsing pickle in (?P<a>.+?):|WARNING: could not parse (?P<b>.+?) as pickle)")


def parse_modelscan(opener: Opener, options: ParseOptions, known_checks: set[str]) -> Report:
    body = load_json(opener, LIMIT)
    if not isinstance(body, dict) or not isinstance(body.get("summary"), dict) or not isinstance(body.get("issues"), list):
        raise ReportError("Not a modelscan JSON report: `summary` (an object) and `issues` (an array) are expected.")
    summary = body["summary"]
    tool = "modelscan"
    report = Report(tools={tool: CHECK}, tool_version=str(summary.get("modelscan_version") or "")[:60])
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    if errors:
        report.undecided[CHECK] = f"modelscan could not scan {len(errors)} file(s)"
    scanned = summary.get("scanned") if isinstance(summary.get("scanned"), dict) else {}
    report.data = {"scanned": scanned.get("total_scanned", 0), "errors": len(errors)}
    if scanned.get("total_scanned", 0) == 0 and not body["issues"] and not errors:
        report.empty = "modelscan scanned no file"
    found = []
    for number, issue in enumerate(body["issues"], start=1):
        if not isinstance(issue, dict) or "severity" not in issue:
            raise ReportError(f"modelscan issue {number} is not an object with a `severity`.")
        severity = MODELSCAN_SEVERITY.get(str(issue["severity"]).lower())
        if severity is None:
            raise ReportError(f"modelscan issue {number} has an unknown severity {clean(issue['severity'], 20)!r}.")
        source = clean(issue.get("source"), 400)
        rule = clean(f"{issue.get('module', '')}.{issue.get('operator', '')}", 200)
        found.append(ParsedFinding(check=CHECK, tool=tool, severity=severity, rule_id=rule, ref=source, asset_name=source,
                                   title=clean(issue.get("description") or f"unsafe operator {rule}", 300),
                                   detail=clean(issue.get("scanner"), 200),
                                   fingerprint=fingerprint(issue.get("scanner"), source, rule)))
    report.findings = iter(found)
    return report


def parse_fickling(opener: Opener, options: ParseOptions, known_checks: set[str]) -> Report:
    body = load_json(opener, LIMIT)
    if not isinstance(body, dict) or str(body.get("severity")) not in FICKLING_SEVERITY:
        raise ReportError("Not a fickling --json-output report: `severity` must be one of "
                          + ", ".join(FICKLING_SEVERITY) + ".")
    tool = "fickling"
    artifact = clean(options.artifact, 400)
    severity = FICKLING_SEVERITY[body["severity"]]
    report = Report(tools={tool: CHECK}, data={"verdict": body["severity"]})
    results = body.get("detailed_results") or {}
    analyses = results.get("AnalysisResult") if isinstance(results, dict) else None
    found = []
    if severity:
        items = sorted(analyses.items()) if isinstance(analyses, dict) and analyses else [("Analysis", body.get("analysis"))]
        for name, value in items:
            found.append(ParsedFinding(check=CHECK, tool=tool, severity=severity, rule_id=clean(name, 200),
                                       title=clean(f"fickling {body['severity']}: {name}", 300), detail=clean(value, 600),
                                       ref=artifact, asset_name=artifact, fingerprint=fingerprint(artifact, name, value)))
    report.findings = iter(found)
    return report


def parse_picklescan(opener: Opener, options: ParseOptions, known_checks: set[str]) -> Report:
    with opener() as fh:
        raw = fh.read(LIMIT + 1)
    if len(raw) > LIMIT:
        raise ReportError("A picklescan report is limited to 20 MB.")
    text = raw.decode("utf-8", errors="replace")
    if "SCAN SUMMARY" not in text or not re.search(r"^Scanned files: \d+", text, re.M):
        raise ReportError("Not picklescan output: its `SCAN SUMMARY` with `Scanned files:` is missing.")
    tool = tool_key(options.tool) or "picklescan"
    report = Report(tools={tool: CHECK})
    found, errors = [], 0
    for line in text.splitlines():
        hit = PICKLESCAN_HIT.match(line.strip())
        if hit and hit["kind"] != "innocuous":
            file, rule = clean(hit["file"], 400), clean(f"{hit['module']}.{hit['name']}", 200)
            found.append(ParsedFinding(check=CHECK, tool=tool, severity="critical" if hit["kind"] == "dangerous" else "medium",
                                       title=clean(f"{hit['kind']} import {rule}", 300), rule_id=rule, ref=file,
                                       asset_name=file, fingerprint=fingerprint(file, rule)))
        elif PICKLESCAN_ERROR.match(line.strip()):
            errors += 1
    if errors:
        report.undecided[CHECK] = f"picklescan could not parse {errors} file(s)"
    match = re.search(r"^Scanned files: (\d+)", text, re.M)
    report.data = {"scanned": int(match.group(1)), "errors": errors}
    if not report.data["scanned"] and not found and not errors:
        report.empty = "picklescan scanned no file"
    report.findings = iter(found)
    return report
