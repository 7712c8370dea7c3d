"""The vendored plotly.js: the version recorded, its licence beside it, and every trace type the charts
use registered in it (the browser test tests/browser/test_charts.py draws each of them)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "static" / "vendor" / "plotly.min.js"
RECIPE = ROOT / "scripts" / "plotly-bundle"
AXIS_TYPES = {"date", "linear", "log", "category", "multicategory"}


def banner() -> re.Match:
    head = BUNDLE.read_bytes()[:400].decode()
    match = re.match(r"/\*! plotly\.js v(\d+\.\d+\.\d+) \(MLSec Portal partial bundle, traces: ([a-z,]+)\)", head)
    assert match, head
    return match


def chart_trace_types() -> set[str]:
    """Every `"type": "<name>"` literal in scoring/charts.py that is not an axis type."""
    tree = ast.parse((ROOT / "scoring" / "charts.py").read_text())
    types = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "type" and isinstance(value, ast.Constant):
                    types.add(value.value)
    return types - AXIS_TYPES


def test_the_bundle_is_the_recorded_plotly_version_with_its_licence():
    package = json.loads((RECIPE / "package.json").read_text())
    lock = json.loads((RECIPE / "package-lock.json").read_text())
    version = banner().group(1)
    assert package["devDependencies"]["plotly.js"] == version
    assert lock["packages"]["node_modules/plotly.js"]["version"] == version
    assert "MIT" in (ROOT / "static" / "vendor" / "plotly.LICENSE.txt").read_text()
    assert version in (ROOT / "docs" / "performance.md").read_text()


def test_every_trace_type_the_charts_draw_is_in_the_bundle_and_nothing_else():
    traces = set(banner().group(2).split(","))
    assert chart_trace_types() == traces == {"scatter", "bar", "heatmap", "scatterpolar"}
    entry = (RECIPE / "entry.js").read_text()
    assert all(f"plotly.js/lib/{name}'" in entry for name in traces - {"scatter"})  # scatter is in the core
    assert BUNDLE.stat().st_size < 1_500_000  # the full build is 4.8 MB


def test_pages_load_the_vendored_bundle_never_a_cdn():
    html = render_to_string("_chart_scripts.html")
    assert re.search(r'<script src="/static/vendor/plotly\.min\.js" defer>', html), html
    assert "cdn" not in html.lower()
    assert Path(finders.find("vendor/plotly.min.js")) == BUNDLE
    assert "web.staticfinders.PlotlyJSFinder" not in settings.STATICFILES_FINDERS
