"""Export renderers of MLSec Portal: CSV, JSON, OSCAL assessment-results and PDF (see reports/bundle.py for the ZIP).

Plain Python on purpose: the Django layer builds the dataset dict (the contract is in each module and
in reports/tests/sample_dataset.py) and hands it to these functions, so they can be tested, profiled
and reused without a database. Each takes `projects` as an iterable it reads once. The formats an
export can be asked for are the classes of `registry.py` (the built-in ones in `formats.py`).
"""

from . import formats  # noqa: F401 - registers the built-in export formats
from .csv import iter_csv, write_csv
from .json import iter_json, write_json
from .oscal import build_assessment_results, write_oscal
from .pdf import render_pdf

__all__ = ["build_assessment_results", "iter_csv", "iter_json", "render_pdf", "write_csv", "write_json", "write_oscal"]
