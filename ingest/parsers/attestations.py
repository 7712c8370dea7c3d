"""OCSF Compliance Findings (class 2003) and in-toto Test Result attestations.

OCSF: one event, an array of events or JSON Lines; each failing (or warning) control is a finding
with OCSF's severity. in-toto: a Statement, a DSSE envelope carrying one, or a JSON Lines bundle;
each failed test is a finding, each warned one a low one; subjects are recorded as assets. The
portal does not verify DSSE signatures: the upload's origin (the ingest token) is what is trusted.
"""

from __future__ import annotations

import base64
import json

from .base import Opener, ParsedFinding, ParseOptions, Report, ReportError, clean, fingerprint, tool_key

OCSF_CHECK = "imported-ocsf"
INTOTO_CHECK = "imported-in-toto"
LIMIT = 20 * 1024 * 1024
OCSF_SEVERITY = {0: "info", 1: "info", 2: "low", 3: "medium", 4: "high", 5: "critical", 6: "critical", 99: "medium"}
OCSF_FAILING = {"fail": "fail", "warning": "warning", "3": "fail", "2": "warning"}
TEST_RESULT = "https://in-toto.io/attestation/test-result/"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")


def _documents(opener: Opener) -> list:
    """The report's JSON values: one document (an object or an array of them) or JSON Lines."""
    with opener() as fh:
        raw = fh.read(LIMIT + 1)
    if len(raw) > LIMIT:
        raise ReportError("A report of this format is limited to 20 MB.")
    try:
        body = json.loads(raw)
        return body if isinstance(body, list) else [body]
    except (ValueError, RecursionError):
        pass
    values = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.strip():
            try:
                values.append(json.loads(line))
            except (ValueError, RecursionError):
                raise ReportError(f"The file is neither JSON nor JSON Lines (line {number}).") from None
    return values


def parse_ocsf(opener: Opener, options: ParseOptions, known_checks: set[str]) -> Report:
    events = _documents(opener)
    if not events:
        raise ReportError("The file holds no OCSF event.")
    found, tool, version = [], "", ""
    for number, event in enumerate(events, start=1):
        if not isinstance(event, dict) or event.get("class_uid") != 2003:
            raise ReportError(f"Event {number} is not an OCSF Compliance Finding (`class_uid` 2003).")
        compliance = event.get("compliance") if isinstance(event.get("compliance"), dict) else None
        if compliance is None:
            raise ReportError(f"Event {number} has no `compliance` object.")
        product = (event.get("metadata") or {}).get("product") if isinstance(event.get("metadata"), dict) else None
        if isinstance(product, dict) and not tool:
            tool, version = tool_key(str(product.get("name") or "")), str(product.get("version") or "")[:60]
        state = OCSF_FAILING.get(str(compliance.get("status") or compliance.get("status_id") or "").lower())
        if state is None:
            continue
        info = event.get("finding_info") if isinstance(event.get("finding_info"), dict) else {}
        resources = [r for r in event.get("resources") or [] if isinstance(r, dict)]
        resource = clean(resources[0].get("uid") or resources[0].get("name"), 400) if resources else ""
        control = clean(compliance.get("control") or info.get("uid"), 200)
        severity = OCSF_SEVERITY.get(event.get("severity_id"), "medium") if state == "fail" else "low"
        found.append(ParsedFinding(
            check=OCSF_CHECK, tool="", severity=severity, rule_id=control,
            title=clean(info.get("title") or f"control {control} {state}", 300),
            detail=clean(info.get("desc") or compliance.get("status_detail"), 600), ref=resource,
            fingerprint=fingerprint(info.get("uid") or control, resource)))
    tool = tool or tool_key(options.tool) or "ocsf"
    for finding in found:
        finding.tool = tool
    report = Report(tools={tool: OCSF_CHECK}, tool_version=version, data={"events": len(events)})
    report.findings = iter(found)
    return report


def _statement(document, number: int) -> dict:
    if isinstance(document, dict) and "payload" in document and "payloadType" in document:
        try:
            document = json.loads(base64.b64decode(document["payload"], validate=True))
        except (ValueError, TypeError):
            raise ReportError(f"Attestation {number}: the DSSE payload is not base64-encoded JSON.") from None
    if not isinstance(document, dict) or document.get("_type") not in STATEMENT_TYPES:
        raise ReportError(f"Attestation {number} is not an in-toto Statement (`_type`).")
    if not str(document.get("predicateType") or "").startswith(TEST_RESULT):
        raise ReportError(f"Attestation {number} is not a Test Result (`predicateType` {TEST_RESULT}…).")
    predicate = document.get("predicate")
    if not isinstance(predicate, dict) or predicate.get("result") not in ("PASSED", "WARNED", "FAILED"):
        raise ReportError(f"Attestation {number}: `predicate.result` must be PASSED, WARNED or FAILED.")
    return document


def parse_in_toto(opener: Opener, options: ParseOptions, known_checks: set[str]) -> Report:
    statements = [_statement(d, n) for n, d in enumerate(_documents(opener), start=1)]
    if not statements:
        raise ReportError("The file holds no attestation.")
    tool = tool_key(options.tool) or "in-toto"
    report = Report(tools={tool: INTOTO_CHECK}, data={"attestations": len(statements)})
    found = []
    for statement in statements:
        predicate = statement["predicate"]
        subjects = [s for s in statement.get("subject") or [] if isinstance(s, dict)]
        for subject in subjects:
            digest = subject.get("digest") if isinstance(subject.get("digest"), dict) else {}
            alg = sorted(digest)[0] if digest else ""
            report.assets.append({"kind": "subject", "name": clean(subject.get("name"), 300), "version": "",
                                  "digest": f"{alg}:{digest[alg]}"[:100] if alg else "", "purl": ""})
        name = clean(subjects[0].get("name"), 300) if subjects else ""
        tests = [("high", t) for t in predicate.get("failedTests") or []] + [("low", t) for t in predicate.get("warnedTests") or []]
        if predicate["result"] == "FAILED" and not predicate.get("failedTests"):
            tests.append(("high", "(unnamed) the attested test run failed"))
        for severity, test in tests:
            found.append(ParsedFinding(check=INTOTO_CHECK, tool=tool, severity=severity, rule_id=clean(test, 200),
                                       title=clean(f"test {'failed' if severity == 'high' else 'warned'}: {test}", 300),
                                       detail=clean(predicate.get("url"), 300), ref=name, asset_name=name,
                                       fingerprint=fingerprint(name, test)))
    report.findings = iter(found)
    return report
