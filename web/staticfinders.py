"""Serve plotly.js from the installed plotly package as `vendor/plotly.min.js` (never from a CDN).

Only that one file is exposed; the rest of the package's data directory is not.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

STATIC_NAME = "vendor/plotly.min.js"


def plotly_js_path() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


class PlotlyJSFinder(BaseFinder):
    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path == STATIC_NAME and plotly_js_path().exists():
            found = str(plotly_js_path())
            return [found] if find_all else found
        return [] if find_all else None

    def list(self, ignore_patterns):
        # collectstatic copies storage.open(path) to "<prefix>/<path>", i.e. vendor/plotly.min.js.
        source = plotly_js_path()
        storage = FileSystemStorage(location=str(source.parent))
        storage.prefix = "vendor"
        yield source.name, storage
