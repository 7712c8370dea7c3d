"""Report parsers by format (`ReportFormat`): `parse(opener, options, known_checks) -> Report`."""

from __future__ import annotations

from ..choices import ReportFormat
from . import attestations, cyclonedx, garak, model_scanners, sarif
from .base import ParsedFinding, ParseOptions, Report, ReportError

PARSERS = {
    ReportFormat.SARIF: sarif.parse,
    ReportFormat.CYCLONEDX: cyclonedx.parse,
    ReportFormat.MODELSCAN: model_scanners.parse_modelscan,
    ReportFormat.FICKLING: model_scanners.parse_fickling,
    ReportFormat.PICKLESCAN: model_scanners.parse_picklescan,
    ReportFormat.GARAK: garak.parse,
    ReportFormat.OCSF: attestations.parse_ocsf,
    ReportFormat.IN_TOTO: attestations.parse_in_toto,
}

__all__ = ["PARSERS", "ParseOptions", "ParsedFinding", "Report", "ReportError"]
