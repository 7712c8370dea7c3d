"""CycloneDX 1.5/1.6 JSON SBOMs (e.g. `cyclonedx-py`), streamed.

Components with a `pkg:pypi/` purl are matched against the imported OSV advisories exactly as the
`dependency-vulnerabilities` check matches pinned requirements (`checks.runners.osv`); the SBOM's own
`vulnerabilities` (Trivy, Grype) become findings too; `machine-learning-model` and `data` components
are recorded as assets. Without imported advisories, PyPI components cannot be judged: the run
ends `error`, as the built-in check does.
"""

from __future__ import annotations

from packageurl import PackageURL

from checks.runners.osv import fixed_versions, is_affected, normalize_name, record_severity

from .base import Opener, ParsedFinding, ParseOptions, Report, ReportError, clean, fingerprint, stream_objects, tool_key

CHECK = "dependency-vulnerabilities"
ASSET_KINDS = {"machine-learning-model": "model", "data": "dataset"}
SUPPORTED = {"1.4", "1.5", "1.6"}
RATINGS = {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "info": "info", "none": "info",
           "unknown": "medium"}


def _tool(metadata: dict) -> tuple[str, str]:
    tools = metadata.get("tools") if isinstance(metadata, dict) else None
    if isinstance(tools, dict):  # 1.5+: {"components": [...], "services": [...]}
        tools = tools.get("components") or tools.get("services") or []
    for tool in tools or []:
        if isinstance(tool, dict) and tool.get("name"):
            return tool_key(str(tool["name"])), str(tool.get("version") or "")[:60]
    return "", ""


def _purl(text: str):
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def _asset(component: dict) -> dict:
    hashes = [h for h in component.get("hashes") or [] if isinstance(h, dict)]
    digest = f"{hashes[0].get('alg', '')}:{hashes[0].get('content', '')}".lower() if hashes else ""
    return {"kind": ASSET_KINDS[component["type"]], "name": str(component.get("name") or "")[:300],
            "version": str(component.get("version") or "")[:100], "digest": digest[:100],
            "purl": str(component.get("purl") or "")[:500]}


def parse(opener: Opener, options: ParseOptions, known_checks: set[str]) -> Report:
    header: dict = {}
    with opener() as fh:
        for prefix, _, value in stream_objects(fh, {"bomFormat", "specVersion", "metadata"}, markers=frozenset({""})):
            if prefix == "" and value != "start_map":
                raise ReportError("Not a CycloneDX BOM: the file is not a JSON object.")
            header[prefix] = value
    if header.get("bomFormat") != "CycloneDX":
        raise ReportError("Not a CycloneDX BOM: `bomFormat` must be \"CycloneDX\" (JSON; XML is not accepted).")
    if str(header.get("specVersion")) not in SUPPORTED:
        raise ReportError(f"CycloneDX {clean(header.get('specVersion'), 10)} is not supported: 1.5 or 1.6 is expected.")
    name, version = _tool(header.get("metadata") or {})
    tool = name or tool_key(options.tool) or "cyclonedx"
    report = Report(tools={tool: CHECK}, tool_version=version)
    pypi = components = vulnerabilities = 0
    with opener() as fh:
        for prefix, _, component in stream_objects(fh, {"components.item"}, markers=frozenset({"vulnerabilities.item"})):
            if prefix == "vulnerabilities.item":
                vulnerabilities += 1
                continue
            components += 1
            if not isinstance(component, dict):
                raise ReportError("A CycloneDX component is not an object.")
            if component.get("type") in ASSET_KINDS:
                report.assets.append(_asset(component))
            purl = _purl(str(component.get("purl") or ""))
            pypi += bool(purl and purl.type == "pypi" and purl.version)
    advisories = options.advisories
    if pypi and advisories is not None and advisories.count() == 0:
        report.undecided[CHECK] = "no advisory data imported: PyPI components could not be matched"
    report.data = {"pypi_components": pypi, "components": components}
    if not components and not vulnerabilities:
        report.empty = "the SBOM lists no component and no vulnerability: nothing was inventoried"

    def findings():
        seen: set[str] = set()
        with opener() as fh:
            for prefix, _, item in stream_objects(fh, {"components.item", "vulnerabilities.item"}):
                if not isinstance(item, dict):
                    raise ReportError("A CycloneDX component or vulnerability is not an object.")
                found = _sbom_vulnerability(item, tool) if prefix == "vulnerabilities.item" else (
                    _advisory_matches(item, tool, advisories))
                for finding in found:
                    if finding.fingerprint not in seen:
                        seen.add(finding.fingerprint)
                        yield finding

    report.findings = findings()
    return report


def _advisory_matches(component: dict, tool: str, advisories) -> list[ParsedFinding]:
    purl = _purl(str(component.get("purl") or ""))
    if advisories is None or purl is None or purl.type != "pypi" or not purl.version:
        return []
    package = normalize_name(purl.name)
    found = []
    for record in advisories.for_package(package):
        if not is_affected(record, package, purl.version):
            continue
        advisory = str(record.get("id", "?"))
        fixed = ", ".join(fixed_versions(record, package)) or "none published"
        aliases = ", ".join(str(a) for a in record.get("aliases") or [])
        found.append(ParsedFinding(
            check=CHECK, tool=tool, severity=record_severity(record), rule_id=advisory,
            title=clean(f"{advisory}: {package} {purl.version}", 300),
            detail=clean(f"{record.get('summary') or ''} Aliases: {aliases or 'none'}. Fixed in: {fixed}.", 600),
            ref=clean(f"pkg:pypi/{package}@{purl.version}", 500), fingerprint=fingerprint(advisory, package, purl.version)))
    return found


def _sbom_vulnerability(vulnerability: dict, tool: str) -> list[ParsedFinding]:
    vid = clean(vulnerability.get("id") or "vulnerability", 100)
    severity = "medium"
    for rating in vulnerability.get("ratings") or []:
        if isinstance(rating, dict) and rating.get("severity"):
            severity = RATINGS.get(str(rating["severity"]).lower(), "medium")
            break
    refs = [str(a.get("ref")) for a in vulnerability.get("affects") or [] if isinstance(a, dict) and a.get("ref")]
    return [ParsedFinding(check=CHECK, tool=tool, severity=severity, rule_id=vid[:200], title=clean(f"{vid}: {ref}", 300),
                          detail=clean(vulnerability.get("description") or vulnerability.get("detail"), 600),
                          ref=clean(ref, 500), fingerprint=fingerprint(vid, ref)) for ref in (refs or [""])]
