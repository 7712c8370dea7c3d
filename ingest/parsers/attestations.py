"""OCSF Compliance Findings (class 2003) and in-toto Test Result attestations.

OCSF: one event, an array of events or JSON Lines; each failing (or warning) control is a finding
with OCSF's severity. in-toto: a Statement, a DSSE envelope carrying one, or a JSON Lines bundle;
each failed test is a finding, each warned one a low one; subjects are recorded as assets.

DSSE signatures are verified against the public keys of the project's signing policy (`cryptography`,
over the PAE encoding of the DSSE spec: `DSSEv1 <len(type)> <type> <len(body)> <body>`): each
statement is `verified` (a signature checks out with a trusted key: the signer is named),
`unverified` (signed, but by no trusted key, or the signature is wrong) or `unsigned` (a bare
statement or an envelope without signatures). Nothing is called verified without that check. When
the policy requires signatures, a report with a statement not verified decides nothing: its run
ends `error`.
"""

from __future__ import annotations

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from .base import Opener, ParsedFinding, ParseOptions, Report, ReportError, clean, fingerprint, tool_key

OCSF_CHECK = "imported-ocsf"
INTOTO_CHECK = "imported-in-toto"
LIMIT = 20 * 1024 * 1024
OCSF_SEVERITY = {0: "info", 1: "info", 2: "low", 3: "medium", 4: "high", 5: "critical", 6: "critical", 99: "medium"}
OCSF_FAILING = {"fail": "fail", "warning": "warning", "3": "fail", "2": "warning"}
TEST_RESULT = "https://in-toto.io/attestation/test-result/"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
CURVE_HASHES = {"secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384, "secp521r1": hashes.SHA512}
VERIFIED, UNVERIFIED, UNSIGNED = "verified", "unverified", "unsigned"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's Pre-Authentication Encoding: what a DSSE signature signs (never the payload alone)."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def _verifies(key, signature: bytes, message: bytes) -> bool:
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in CURVE_HASHES:
            key.verify(signature, message, ec.ECDSA(CURVE_HASHES[key.curve.name]()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _signature_state(envelope: dict, payload: bytes, keys: list | None) -> tuple[str, str]:
    """(state, signer name) of one DSSE envelope against the trusted keys."""
    signatures = [s for s in envelope.get("signatures") or [] if isinstance(s, dict)]
    if not signatures:
        return UNSIGNED, ""
    message = pae(str(envelope.get("payloadType") or ""), payload)
    for signature in signatures:
        try:
            raw = base64.b64decode(str(signature.get("sig") or ""), validate=True)
        except ValueError:
            continue
        for name, key in keys or []:
            if raw and _verifies(key, raw, message):
                return VERIFIED, name
    return UNVERIFIED, ""


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


def _statement(document, number: int, keys: list | None = None) -> tuple[dict, str, str]:
    """The statement, and its signature state and signer (`unsigned` for a bare statement)."""
    state, signer = UNSIGNED, ""
    if isinstance(document, dict) and "payload" in document and "payloadType" in document:
        try:
            payload = base64.b64decode(document["payload"], validate=True)
            envelope, document = document, json.loads(payload)
        except (ValueError, TypeError):
            raise ReportError(f"Attestation {number}: the DSSE payload is not base64-encoded JSON.") from None
        state, signer = _signature_state(envelope, payload, keys)
    if not isinstance(document, dict) or document.get("_type") not in STATEMENT_TYPES:
        raise ReportError(f"Attestation {number} is not an in-toto Statement (`_type`).")
    if not str(document.get("predicateType") or "").startswith(TEST_RESULT):
        raise ReportError(f"Attestation {number} is not a Test Result (`predicateType` {TEST_RESULT}…).")
    predicate = document.get("predicate")
    if not isinstance(predicate, dict) or predicate.get("result") not in ("PASSED", "WARNED", "FAILED"):
        raise ReportError(f"Attestation {number}: `predicate.result` must be PASSED, WARNED or FAILED.")
    return document, state, signer


def parse_in_toto(opener: Opener, options: ParseOptions, known_checks: set[str]) -> Report:
    statements = [_statement(d, n, options.trusted_keys) for n, d in enumerate(_documents(opener), start=1)]
    if not statements:
        raise ReportError("The file holds no attestation.")
    tool = tool_key(options.tool) or "in-toto"
    report = Report(tools={tool: INTOTO_CHECK}, data={"attestations": len(statements)})
    if options.trusted_keys is not None:
        states = [state for _, state, _ in statements]
        report.data["signatures"] = {s: states.count(s) for s in (VERIFIED, UNVERIFIED, UNSIGNED)}
        report.data["signers"] = sorted({signer for _, _, signer in statements if signer})
        unproven = len(states) - states.count(VERIFIED)
        if options.signature_required and unproven:
            report.undecided[INTOTO_CHECK] = (f"{unproven} of {len(states)} attestation(s) are not signed by a key of "
                                              "the project's signing policy, which requires signatures")
    found = []
    for statement, state, signer in statements:
        predicate = statement["predicate"]
        subjects = [s for s in statement.get("subject") or [] if isinstance(s, dict)]
        for subject in subjects:
            digest = subject.get("digest") if isinstance(subject.get("digest"), dict) else {}
            alg = sorted(digest)[0] if digest else ""
            asset = {"kind": "subject", "name": clean(subject.get("name"), 300), "version": "",
                     "digest": f"{alg}:{digest[alg]}"[:100] if alg else "", "purl": ""}
            if options.trusted_keys is not None:
                asset.update(signature=state, signed_by=signer)
            report.assets.append(asset)
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
