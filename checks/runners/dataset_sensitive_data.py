"""``dataset-sensitive-data``: sample dataset files for unmasked personal data.

Reads at most 5,000 rows and 20 MB per file (CSV/TSV, optionally gzipped,
JSON lines, JSON arrays, Parquet through pyarrow) and runs the detectors of
:mod:`checks.runners.pii` on every value.  Findings are per file × column
(or JSON key path) × kind and carry only counts and shares — never a value.
Column names are untrusted too: a header cell that itself looks like
personal data (a headerless CSV) is replaced by its position, so no value can
leak through a finding title.

Any finding → failed (high for card numbers and national identifiers, medium
for e-mail addresses and phone numbers).  A missing, unreadable or
unsupported file is *error*, as is a Parquet file when pyarrow is not
installed — never a silent pass.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections import Counter
from collections.abc import Iterator

from .base import (
    SEVERITIES,
    CheckContext,
    CheckResult,
    Finding,
    SandboxLimits,
    combine_status,
    plural,
)
from .common import FileTargetsCheck
from .paths import Expansion, PathPolicy
from .pii import DETECTORS, detect
from .redaction import label, looks_random

MAX_ROWS = 5000
MAX_BYTES = 20 * 1024 * 1024
MAX_COLUMNS = 500
DOC_EXT = (".md", ".rst", ".txt")

Row = list[tuple[str, str]]  # (column or key path, value) pairs of one record


class DatasetError(ValueError):
    """The file cannot be sampled (corrupt, unsupported, dependency missing)."""


class DatasetSensitiveDataCheck(FileTargetsCheck):
    key = "dataset-sensitive-data"
    title = "Sensitive data in datasets"
    practices = ("MLS-06", "MLS-16")
    default_schedule = "20 5 * * 0"
    time_limit_s = 600
    target = "datasets"
    noun = "dataset"
    source_kinds = ("path", "git", "s3")
    sandbox = SandboxLimits()  # parses the team's files: a child process with limits
    description = (
        "Samples up to 5,000 rows of each dataset file (CSV, JSON lines, JSON, Parquet) for unmasked e-mail "
        "addresses, payment card numbers passing Luhn, national identifiers and phone numbers. Any unmasked "
        "value fails the check; findings give counts per column, never the values."
    )

    def run_files(self, ctx: CheckContext, policy: PathPolicy, expansion: Expansion,
                  findings: list[Finding]) -> CheckResult:
        pii: list[Finding] = []
        undecided = expansion.undecided
        files: dict[str, dict] = {}
        for item in expansion.files:
            if item.real.lower().endswith(DOC_EXT) or os.path.basename(item.real).lower().startswith("readme"):
                findings.append(Finding("info", "not a dataset file, skipped", "", item.display))
                continue
            try:
                rows, counts, columns, problem = scan_file(item.real)
            except OSError as exc:
                undecided = True
                findings.append(Finding("medium", "dataset unreadable", type(exc).__name__, item.display))
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. pyarrow's NotImplementedError on exotic files
                undecided = True
                findings.append(Finding("medium", "dataset could not be sampled", f"reader crashed "
                                        f"({type(exc).__name__})", item.display))
                continue
            files[item.display] = {"rows_sampled": rows, "columns": columns, "hits": sum(counts.values())}
            if problem:  # rows read before the problem still count: a known leak must surface
                undecided = True
                files[item.display]["error"] = problem
                findings.append(Finding("medium", "dataset could not be sampled", problem, item.display))
            elif rows == 0:
                findings.append(Finding("info", "no rows to sample", "the file holds no data rows", item.display))
            for (column, kind), count in sorted(counts.items()):
                label, severity, _ = DETECTORS[kind]
                where = "key" if item.real.lower().endswith((".json", ".jsonl", ".ndjson", ".jsonl.gz")) else "column"
                pii.append(Finding(severity, f"unmasked {label} in {where} '{column}'",
                                   f"{count} of {rows} sampled rows ({count / rows:.1%}) contain {label}; "
                                   "values are not shown", f"{item.display}:{column}"))
        pii.sort(key=lambda f: (-SEVERITIES.index(f.severity), f.ref))
        data = {"files": files, "max_rows_per_file": MAX_ROWS}
        if not expansion.files and not expansion.findings:
            return CheckResult("error", "no dataset found: the configured paths match no file", findings, data)
        if not files and not undecided:
            return CheckResult("error", "no dataset file among the matched files", findings, data)
        status = combine_status(bool(pii), undecided)
        affected = len({f.ref.rsplit(":", 1)[0] for f in pii})
        if status == "failed":
            kinds = sorted({f.title.split(" in ")[0].removeprefix("unmasked ") for f in pii})
            summary = f"unmasked personal data in {plural(affected, 'file')}: {', '.join(kinds)}"
        elif status == "error":
            summary = "some dataset files could not be sampled; no unmasked personal data in the rest"
        else:
            summary = f"no unmasked personal data in {plural(len(files), 'file')} sampled"
        return CheckResult(status, summary, pii + findings, data)


def scan_file(path: str) -> tuple[int, Counter, int, str]:
    """(rows sampled, Counter[(column, kind)] of matching rows, column count, problem or "")."""
    counts: Counter = Counter()
    rows = 0
    columns: set[str] = set()
    try:
        for row in iter_rows(path):
            rows += 1
            seen: set[tuple[str, str]] = set()
            for column, value in row:
                if len(columns) < MAX_COLUMNS or column in columns:
                    columns.add(column)
                else:
                    column = "<other keys>"
                for kind in detect(value):
                    seen.add((column, kind))
            counts.update(seen)
            if rows >= MAX_ROWS:
                break
    except DatasetError as exc:
        return rows, counts, len(columns), str(exc)
    return rows, counts, len(columns), ""


def iter_rows(path: str) -> Iterator[Row]:
    lower = path.lower()
    base = lower.removesuffix(".gz")
    if base.endswith((".csv", ".tsv")):
        yield from _delimited(_read_text(path), "\t" if base.endswith(".tsv") else None)
    elif base.endswith((".jsonl", ".ndjson")):
        yield from _json_lines(_read_text(path))
    elif base.endswith(".json"):
        yield from _json_document(path)
    elif lower.endswith((".parquet", ".pq")):
        yield from _parquet(path)
    else:
        raise DatasetError(f"unsupported dataset format '{os.path.splitext(lower)[1] or 'no extension'}'")


def _read_text(path: str) -> str:
    opener = gzip.open if path.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except (gzip.BadGzipFile, EOFError) as exc:
        raise DatasetError(f"corrupt gzip stream ({type(exc).__name__})") from None
    if b"\0" in raw[:65536]:
        raise DatasetError("binary content where text was expected")
    if len(raw) > MAX_BYTES:
        raw = raw[:MAX_BYTES].rsplit(b"\n", 1)[0]  # drop the partial last line
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def safe_label(name: str, position: int) -> str:
    """A column/key name fit for a finding title (never a personal-data value)."""
    name = name.strip()
    if detect(name):
        return f"column {position}"
    return label(name, f"column {position}")


def _delimited(text: str, delimiter: str | None) -> Iterator[Row]:
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        if any(detect(cell) or looks_random(cell) for cell in header):  # no header row: the first row is data
            names = [f"column {i}" for i in range(1, len(header) + 1)]
            yield list(zip(names, header, strict=True))
        else:
            names = [safe_label(cell, i) for i, cell in enumerate(header, start=1)]
        for row in reader:
            extra = [f"column {i}" for i in range(len(names) + 1, len(row) + 1)]
            yield list(zip(names + extra, row, strict=False))  # short rows: missing cells
    except csv.Error:
        raise DatasetError("malformed CSV (a row could not be split into fields)") from None


def flatten(value: object, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key path, string value) pairs of a JSON-like value; floats/bools/None skipped."""
    if isinstance(value, dict):
        for index, (key, inner) in enumerate(value.items(), start=1):
            shown = safe_label(str(key), index) if not detect(str(key)) else "<key>"
            yield from flatten(inner, f"{prefix}.{shown}" if prefix else shown)
    elif isinstance(value, list):
        for inner in value[:100]:
            yield from flatten(inner, f"{prefix}[]")
    elif isinstance(value, str):
        yield prefix or "(value)", value
    elif isinstance(value, int) and not isinstance(value, bool):
        yield prefix or "(value)", str(value)


def _row(value: object) -> Row:
    return list(flatten(value))


def _json_lines(text: str) -> Iterator[Row]:
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            yield _row(json.loads(line))
        except (json.JSONDecodeError, RecursionError):
            bad += 1
    if bad:
        raise DatasetError(f"{bad} line(s) are not valid JSON")


def _json_document(path: str) -> Iterator[Row]:
    if os.path.getsize(path) > MAX_BYTES:
        raise DatasetError("JSON document larger than 20 MB cannot be sampled; use JSON lines or Parquet")
    try:
        document = json.loads(_read_text(path))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DatasetError(f"not valid JSON ({type(exc).__name__})") from None
    if isinstance(document, dict):
        lists = [k for k, v in document.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        document = document[lists[0]] if len(lists) == 1 else [document]
    if not isinstance(document, list):
        document = [document]
    for item in document[:MAX_ROWS]:
        yield _row(item)


def _parquet(path: str) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError("parquet support not installed (pyarrow)") from None
    try:
        parquet = pq.ParquetFile(path)
        names = [safe_label(n, i) for i, n in enumerate(parquet.schema_arrow.names, start=1)]
        produced = 0
        for batch in parquet.iter_batches(batch_size=1000):
            for record in batch.to_pylist():
                yield _row({names[i]: v for i, v in enumerate(record.values())})
                produced += 1
                if produced >= MAX_ROWS:
                    return
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid derives from ValueError
        raise DatasetError(f"unreadable Parquet file ({type(exc).__name__})") from None
