"""CycloneDX 1.6 ML-BOM of a project, built and serialised with cyclonedx-python-lib (never hand-written JSON).

How the portal maps onto CycloneDX (the dataset contract: `reports/dataset.py`, a project's `inventory`):
- the project is `metadata.component` (type `application`), the portal the `metadata.tools` entry;
  its risk tier, lifecycle, data classification, AI Act role and risk class, score, approved
  assessment and the latest verdict of every check are `mlsec:` properties;
- each model / dataset of the inventory is a `machine-learning-model` / `data` component at its
  newest version by the as_of moment: the version, the SHA-256 the scan recorded, the revision that
  pins it (commit and path, S3 version id, MLflow run) and the verdicts recorded on the version as
  properties; where it came from as an external reference (`vcs` for Git, `distribution` for S3 and
  MLflow; a directory of the check root is a property, it has no URL); `model-card` links to the
  project's page. The lib (11.x) has no `modelCard` object, so what the assessment knows of the
  model card (the datasets of the project, the gaps and accepted risks of its answers) is given as
  `mlsec:model-card:*` properties rather than written around the library;
- the serving endpoint (an `endpoint` source) is a service;
- the pinned packages the dependency check found affected are `library` components with purls;
- vulnerabilities: each advisory of the dependency check (affecting its package), and each finding
  of a failing model check (affecting the model versions whose verdict of that check failed, or the
  project when no version carries one); other failing checks stay verdict properties;
- dependencies: the project depends on its models, datasets, packages and services.

Serial number and bom-refs are derived from the scope, the as_of day and database ids, and the
timestamp is the dataset's: the same dataset gives the same bytes (the signed bundle relies on it).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import BinaryIO, TextIO
from urllib.parse import quote, urlsplit, urlunsplit

from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, Property, XsUri
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.service import Service
from cyclonedx.model.vulnerability import (
    BomTarget,
    Vulnerability,
    VulnerabilityRating,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from .common import byte_writer

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:mlsec-portal:cyclonedx-mlbom")
MODEL_CHECKS = ("model-serialization", "model-integrity")
DEPENDENCY_CHECK = "dependency-vulnerabilities"
_SEVERITY = {"info": VulnerabilitySeverity.INFO, "low": VulnerabilitySeverity.LOW,
             "medium": VulnerabilitySeverity.MEDIUM, "high": VulnerabilitySeverity.HIGH,
             "critical": VulnerabilitySeverity.CRITICAL}


class NotOneProject(ValueError):
    """An ML-BOM describes one project: the dataset holds none or several."""


def _prop(name: str, value) -> Property | None:
    if value is None or value == "":
        return None
    return Property(name=f"mlsec:{name}", value=str(value))


def _props(*pairs) -> list[Property]:
    return [p for p in (_prop(n, v) for n, v in pairs) if p is not None]


def _public_url(url: str) -> str | None:
    """The URL without credentials, query or fragment (a source's URL may carry a token)."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _source_reference(source: dict | None, revision: dict, name: str) -> ExternalReference | None:
    if not source:
        return None
    config = source.get("config") or {}
    if source["kind"] == "git":
        url = _public_url(config.get("url", ""))
        return ExternalReference(type=ExternalReferenceType.VCS, url=XsUri(url),
                                 comment=f"commit {revision['commit']}" if revision.get("commit") else None) if url else None
    if source["kind"] == "s3" and config.get("bucket"):
        key = revision.get("key") or name
        return ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(f"s3://{quote(config['bucket'], safe='')}/{quote(key, safe='/')}"),
                                 comment=f"version {revision['version_id']}" if revision.get("version_id") else None)
    if source["kind"] == "mlflow":
        base = _public_url(config.get("tracking_uri", ""))
        if base and revision.get("model"):
            return ExternalReference(type=ExternalReferenceType.DISTRIBUTION,
                                     url=XsUri(f"{base.rstrip('/')}/#/models/{quote(revision['model'], safe='')}"
                                               f"/versions/{quote(str(revision.get('version', '')), safe='')}"))
    return None


def _asset_component(project: dict, asset: dict, ids: str) -> Component:
    version = asset["version"]
    revision = version.get("revision") or {}
    kind = ComponentType.MACHINE_LEARNING_MODEL if asset["kind"] == "model" else ComponentType.DATA
    source = asset.get("source")
    references = [r for r in (_source_reference(source, revision, asset["name"]),) if r is not None]
    if kind == ComponentType.MACHINE_LEARNING_MODEL and project.get("url"):
        references.append(ExternalReference(type=ExternalReferenceType.MODEL_CARD, url=XsUri(project["url"]),
                                            comment="the project's assessment in MLSec Portal"))
    properties = _props(("asset-kind", asset["kind"]), ("format", version.get("format")), ("size", version.get("size")),
                        ("stage", version.get("stage")), ("first-seen", version.get("created_at")),
                        ("source", source and f"{source['kind']}:{source['name']}"),
                        ("source-path", source and source["kind"] == "path" and (source.get("config") or {}).get("path")),
                        *((f"revision:{k}", v) for k, v in sorted(revision.items()) if isinstance(v, str | int)),
                        *((f"verdict:{check}", (v or {}).get("status"))
                          for check, v in sorted((version.get("verdicts") or {}).items())))
    if kind == ComponentType.MACHINE_LEARNING_MODEL:
        properties += _model_card(project)
    hashes = [HashType(alg=HashAlgorithm.SHA_256, content=version["sha256"])] if version.get("sha256") else []
    return Component(type=kind, name=asset["name"], version=version["version"], bom_ref=f"{ids}:asset:{asset['id']}",
                     hashes=hashes, external_references=references, properties=properties)


def _model_card(project: dict) -> list[Property]:
    """What the assessment knows of a model card: the datasets used, and its answers' gaps and accepted risks."""
    datasets = [a["name"] for a in (project.get("inventory") or {}).get("assets") or () if a["kind"] == "dataset"]
    gaps = [f"{a['code']} {a['title']}: level {a['effective_level'] if a['effective_level'] is not None else '-'}"
            f" of target {a['target_level']}" for a in project.get("answers") or ()
            if a.get("target_level") is not None and (a.get("effective_level") or 0) < a["target_level"]]
    accepted = [f"{r['practice']} until {r['expires_on']}: {r['justification']}"
                for r in project.get("risk_acceptances") or () if r.get("status") == "approved"]
    return _props(*(("model-card:dataset", d) for d in datasets),
                  *(("model-card:consideration:gap", g) for g in gaps),
                  *(("model-card:consideration:accepted-risk", r) for r in accepted))


def _severity(value: str) -> VulnerabilitySeverity:
    return _SEVERITY.get(value, VulnerabilitySeverity.UNKNOWN)


def build_mlbom(dataset: dict) -> Bom:
    projects = list(dataset.get("projects") or ())
    if len(projects) != 1:
        raise NotOneProject("An ML-BOM is exported for one project: choose the project scope.")
    project = projects[0]
    ids = f"p{project['id']}"
    inventory = project.get("inventory") or {}
    runs = {r["check"]: r for r in project.get("check_runs") or ()}
    assessment = project.get("assessment") or {}
    root = Component(
        type=ComponentType.APPLICATION, name=project["name"], bom_ref=f"{ids}:project", group=project.get("team"),
        description=(inventory.get("description") or None),
        external_references=[ExternalReference(type=ExternalReferenceType.WEBSITE, url=XsUri(project["url"]))]
        if project.get("url") else [],
        properties=_props(("risk-tier", project.get("risk_tier")), ("lifecycle", project.get("lifecycle")),
                          ("data-classification", project.get("data_classification")),
                          ("ai-act-role", inventory.get("ai_act_role")),
                          ("ai-act-risk-class", inventory.get("ai_act_risk_class")),
                          ("score", project.get("score")), ("assessment-cycle", assessment.get("cycle")),
                          ("assessment-reviewed-at", assessment.get("reviewed_at")),
                          ("catalog-version", dataset.get("catalog_version")), ("as-of", dataset.get("as_of")),
                          *((f"check:{key}", run["status"]) for key, run in sorted(runs.items()))))
    tool = Component(type=ComponentType.APPLICATION, name=(dataset.get("portal") or {}).get("name") or "MLSec Portal",
                     bom_ref="mlsec-portal")
    stamp = datetime.fromisoformat(dataset["generated_at"]) if dataset.get("generated_at") else None
    metadata = BomMetaData(component=root, timestamp=stamp, properties=_props(
        ("generated-by", dataset.get("generated_by")),
        ("public-key-fingerprint", (dataset.get("portal") or {}).get("public_key_fingerprint"))))
    metadata.tools.components.add(tool)
    serial = uuid.uuid5(_NAMESPACE, f"{ids}|{dataset.get('as_of')}|{dataset.get('generated_at')}")
    bom = Bom(serial_number=serial, metadata=metadata)

    by_asset: dict[int, Component] = {}
    for asset in inventory.get("assets") or ():
        component = _asset_component(project, asset, ids)
        by_asset[asset["id"]] = component
        bom.components.add(component)
    libraries: dict[tuple[str, str], Component] = {}
    for package in (runs.get(DEPENDENCY_CHECK) or {}).get("packages") or ():
        key = (package["package"], package["version"])
        if key not in libraries:
            purl = PackageURL(type="pypi", name=key[0], version=key[1])
            libraries[key] = Component(type=ComponentType.LIBRARY, name=key[0], version=key[1], purl=purl,
                                       bom_ref=f"{ids}:pkg:{purl.to_string()}")
            bom.components.add(libraries[key])
    for source in inventory.get("services") or ():
        url = _public_url((source.get("config") or {}).get("url", ""))
        bom.services.add(Service(name=source["name"], bom_ref=f"{ids}:service:{source['id']}",
                                 endpoints=[XsUri(url)] if url else [],
                                 properties=_props(("check:endpoint-authentication",
                                                    (runs.get("endpoint-authentication") or {}).get("status")),
                                                   ("check:endpoint-transport",
                                                    (runs.get("endpoint-transport") or {}).get("status")))))
    bom.register_dependency(root, [*by_asset.values(), *libraries.values(), *bom.services])
    _vulnerabilities(bom, ids, root, runs, inventory, by_asset, libraries)
    return bom


def _vulnerabilities(bom, ids, root, runs, inventory, by_asset, libraries) -> None:
    tool = VulnerabilitySource(name="MLSec Portal")
    dependency = runs.get(DEPENDENCY_CHECK)
    if dependency and dependency["status"] == "failed":
        for finding in dependency.get("findings") or ():
            advisory = finding.get("ref") or ""
            affected = [c for (name, version), c in libraries.items()
                        if finding.get("title", "").startswith(f"{name} {version}:")
                        or finding.get("title", "").lower().startswith(f"{name} {version}:".lower())]
            if not advisory or not affected:
                continue  # hygiene findings (unpinned, unverifiable) are not vulnerabilities
            bom.vulnerabilities.add(Vulnerability(
                bom_ref=f"{ids}:vuln:{dependency['id']}:{advisory}:{affected[0].name}", id=advisory,
                source=VulnerabilitySource(name="OSV", url=XsUri(f"https://osv.dev/vulnerability/{advisory}")),
                description=finding.get("detail") or None,
                ratings=[VulnerabilityRating(source=tool, severity=_severity(finding.get("severity", "")))],
                affects=[BomTarget(ref=c.bom_ref.value) for c in affected]))
    for check in MODEL_CHECKS:
        run = runs.get(check)
        if not run or run["status"] != "failed":
            continue
        failing = [by_asset[a["id"]] for a in inventory.get("assets") or ()
                   if ((a["version"].get("verdicts") or {}).get(check) or {}).get("status") == "failed"]
        targets = [BomTarget(ref=c.bom_ref.value) for c in failing] or [BomTarget(ref=root.bom_ref.value)]
        for number, finding in enumerate(run.get("findings") or (), start=1):
            if finding.get("severity") == "info":
                continue
            bom.vulnerabilities.add(Vulnerability(
                bom_ref=f"{ids}:vuln:{run['id']}:{number}", id=f"MLSEC-{check}-{run['id']}-{number}", source=tool,
                description=finding.get("title") or None, detail=finding.get("detail") or None,
                ratings=[VulnerabilityRating(source=tool, severity=_severity(finding.get("severity", "")))],
                properties=_props(("check", check), ("run", run["id"]), ("ref", finding.get("ref"))),
                affects=targets))


def mlbom_json(dataset: dict) -> str:
    return JsonV1Dot6(build_mlbom(dataset)).output_as_string(indent=2)


def write_mlbom(dataset: dict, out: TextIO | BinaryIO) -> None:
    byte_writer(out)(mlbom_json(dataset).encode("utf-8") + b"\n")
