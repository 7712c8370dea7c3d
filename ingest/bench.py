"""A large, realistic SARIF log written as a stream (for the benchmark and the size tests)."""

from __future__ import annotations

import json
from pathlib import Path

RULES = [{"id": f"PY{n:03d}", "name": f"rule-{n}", "shortDescription": {"text": f"Rule {n} of the benchmark"},
          "properties": {"security-severity": str((n % 10) + 0.5), "tags": ["security"]}} for n in range(50)]


def write_sarif(path: Path, results: int, *, tool: str = "semgrep", seed: str = "") -> int:
    """Write a SARIF 2.1.0 log of `results` results (~1 KB each, like Semgrep's); returns its size."""
    with open(path, "w") as out:
        out.write('{"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": [{')
        out.write('"tool": ' + json.dumps({"driver": {"name": tool, "semanticVersion": "1.185.0", "rules": RULES}}))
        out.write(', "results": [')
        for n in range(results):
            rule = RULES[n % len(RULES)]
            result = {
                "ruleId": rule["id"], "level": "warning",
                "message": {"text": f"Possible issue {n}{seed} flagged by {rule['id']}: untrusted data reaches a sink "
                                    "without validation; review the data flow and sanitise the input first."},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f"src/pkg{n % 97}/module_{n % 13}.py", "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": n % 900 + 1, "startColumn": 5, "endLine": n % 900 + 2, "endColumn": 40,
                               "snippet": {"text": "    value = request.args.get('q')  # benchmark line\n"}}}}],
                "partialFingerprints": {"primaryLocationLineHash": f"{n:012x}{seed}:1"},
                "relatedLocations": [{"id": 1, "message": {"text": "the untrusted value enters here"},
                                      "physicalLocation": {"artifactLocation": {"uri": f"src/pkg{n % 97}/views.py"},
                                                           "region": {"startLine": n % 400 + 1}}}],
                "properties": {"precision": "high", "confidence": "MEDIUM", "cwe": ["CWE-20", "CWE-79"],
                               "tags": ["security", "external/cwe/cwe-20", "external/cwe/cwe-79", "owasp-a03"]},
            }
            out.write(("," if n else "") + json.dumps(result))
        out.write("]}]}")
    return path.stat().st_size
