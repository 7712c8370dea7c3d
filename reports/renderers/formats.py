"""The built-in export formats (registry.py says what a format declares), in the order of the
request form's choices; the ones with a `bundle_name` enter the signed ZIP bundle in this order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO

from .csv import iter_csv
from .cyclonedx_mlbom import write_mlbom
from .json import write_json
from .oscal import write_oscal
from .oscal_poam import write_poam
from .pdf import render_pdf
from .registry import ExportFormat, register
from .soa_csv import soa_csv_bytes
from .soa_pdf import render_soa_pdf


@register
class PdfReport(ExportFormat):
    key, label = "pdf", "PDF report"
    content_type, extension, bundle_name = "application/pdf", "pdf", "report.pdf"

    def render(self, dataset: dict, out: BinaryIO, **_: Any) -> None:
        render_pdf(dataset, out)


@register
class CsvReport(ExportFormat):
    key, label = "csv", "CSV (one row per project × practice)"
    content_type, extension, bundle_name = "text/csv; charset=utf-8", "csv", "report.csv"

    def render(self, dataset: dict, out: BinaryIO, **_: Any) -> None:
        for chunk in iter_csv(dataset):
            out.write(chunk.encode("utf-8"))


@register
class JsonReport(ExportFormat):
    key, label = "json", "JSON"
    content_type, extension, bundle_name = "application/json", "json", "report.json"

    def render(self, dataset: dict, out: BinaryIO, **_: Any) -> None:
        write_json(dataset, out)


@register
class OscalAssessmentResults(ExportFormat):
    key, label = "oscal", "OSCAL assessment results (JSON)"
    content_type, extension, bundle_name = "application/json", "oscal.json", "oscal-assessment-results.json"

    def render(self, dataset: dict, out: BinaryIO, **_: Any) -> None:
        write_oscal(dataset, out)


@register
class SignedBundle(ExportFormat):
    """The signed ZIP bundle: every bundled format, the evidence files and the signed manifest."""

    key, label = "zip", "Signed ZIP bundle (all formats + evidence files)"
    content_type, extension = "application/zip", "zip"

    def render(self, dataset: dict, out: BinaryIO, *, files: Mapping[str, Any] | None = None,
               signing_key: str | None = None) -> None:
        from ..bundle import build_bundle  # the bundle renders the formats registered here

        if not signing_key:
            raise ValueError("the signed bundle needs the signing key")
        build_bundle(dataset, files if files is not None else {}, out, signing_key)


@register
class OscalPoam(ExportFormat):
    key, label = "oscal-poam", "OSCAL plan of action and milestones (JSON)"
    content_type, extension, bundle_name = "application/json", "poam.json", "oscal-poam.json"

    def render(self, dataset: dict, out: BinaryIO, **_: Any) -> None:
        write_poam(dataset, out)


@register
class SoaCsv(ExportFormat):
    key, label = "soa-csv", "Statement of Applicability, ISO/IEC 42001 Annex A (CSV)"
    content_type, extension, bundle_name = "text/csv; charset=utf-8", "soa.csv", "statement-of-applicability.csv"

    def in_bundle(self, dataset: dict) -> bool:
        return bool(dataset.get("statement_of_applicability"))  # every dataset the portal builds has one

    def render(self, dataset: dict, out: BinaryIO, **_: Any) -> None:
        out.write(soa_csv_bytes(dataset))


@register
class SoaPdf(ExportFormat):
    key, label = "soa-pdf", "Statement of Applicability, ISO/IEC 42001 Annex A (PDF)"
    content_type, extension, bundle_name = "application/pdf", "soa.pdf", "statement-of-applicability.pdf"

    def in_bundle(self, dataset: dict) -> bool:
        return bool(dataset.get("statement_of_applicability"))

    def render(self, dataset: dict, out: BinaryIO, **_: Any) -> None:
        render_soa_pdf(dataset, out)


@register
class CycloneDxMlBom(ExportFormat):
    key, label = "cyclonedx", "CycloneDX 1.6 ML-BOM (JSON, project scope)"
    content_type, extension, bundle_name = "application/vnd.cyclonedx+json", "cdx.json", "cyclonedx-mlbom.json"
    project_only = True

    def in_bundle(self, dataset: dict) -> bool:
        return (dataset.get("scope") or {}).get("kind") == "project" and len(dataset.get("projects") or ()) == 1

    def render(self, dataset: dict, out: BinaryIO, **_: Any) -> None:
        write_mlbom(dataset, out)

