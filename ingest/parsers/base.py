"""What every report parser returns, and the streaming JSON helper they share.

A parser reads a binary file (opened afresh by `opener()` for each pass, so a large report is never
held in memory), checks its shape and yields `ParsedFinding`s. The same code validates a report in
the request (`validate`: every result read, nothing written) and processes it on a worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import ijson
from ijson.common import ObjectBuilder

from checks.runners import scrub

Opener = Callable[[], BinaryIO]


class ReportError(Exception):
    """The report is not what its format says: the message names what is wrong (it becomes a 400)."""


@dataclass
class ParsedFinding:
    check: str
    tool: str
    severity: str
    title: str
    fingerprint: str
    detail: str = ""
    ref: str = ""
    rule_id: str = ""
    asset_name: str = ""
    asset_digest: str = ""


@dataclass
class Report:
    """A parsed report. `tools` maps each tool the report speaks for to the check its results feed:
    every one of them closes its findings that this report no longer lists (an empty run included)."""

    tools: dict[str, str] = field(default_factory=dict)
    tool_version: str = ""
    assets: list[dict] = field(default_factory=list)
    # check key → why it could not decide (missing advisory data, scanner errors): the run ends `error`
    undecided: dict[str, str] = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    findings: Iterator[ParsedFinding] = field(default_factory=lambda: iter(()))
    # Why the report scanned nothing (no run, no component, no file, no probe): then it decides nothing.
    empty: str = ""


@dataclass
class ParseOptions:
    tool: str = ""
    artifact: str = ""
    advisories: object | None = None  # an AdvisorySource when processing; None when only validating
    # In the request: check the report's shape, and skip work only the stored findings need (SARIF).
    validate_only: bool = False
    # DSSE envelopes (in-toto): (name, public key) of the project's signing policy; None: not checked here.
    trusted_keys: list | None = None
    signature_required: bool = False


def fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def clean(text: object, limit: int = 300) -> str:
    """Report text as stored: secrets and long token-like strings removed (a tool may echo them)."""
    return scrub(str(text or ""), limit=limit) if text else ""


def tool_key(name: str) -> str:
    return (name or "").strip().lower()[:120]


def stream_objects(fh: BinaryIO, wanted: set[str], count_prefix: str | None = None, markers: frozenset = frozenset()):
    """Yield `(prefix, index, value)` for each value found at one of the `wanted` ijson prefixes.

    `index` counts the maps that start at `count_prefix` (e.g. SARIF runs), so a value knows which
    enclosing object it came from. Only the value being built is held in memory. For a prefix in
    `markers` only the kind of its value is yielded (`start_array`, `string`, …), never the value.
    """
    builder = building = None
    index = -1
    try:
        for prefix, event, value in ijson.parse(fh, use_float=True):
            if builder is not None:
                builder.event(event, value)
                if prefix == building and event in ("end_map", "end_array"):
                    yield building, index, builder.value
                    builder = building = None
                continue
            if prefix == count_prefix and event == "start_map":
                index += 1
            if prefix in markers and event not in ("map_key", "end_map", "end_array"):
                yield prefix, index, event
                continue
            if prefix in wanted and event != "map_key":
                if event in ("start_map", "start_array"):
                    builder, building = ObjectBuilder(), prefix
                    builder.event(event, value)
                else:
                    yield prefix, index, value
    except ijson.JSONError as exc:
        raise ReportError(f"The file is not valid JSON: {clean(exc, 160)}.") from None


def load_json(opener: Opener, limit: int):
    """A small JSON report read whole (modelscan, fickling): refused past `limit` bytes."""
    import json

    with opener() as fh:
        raw = fh.read(limit + 1)
    if len(raw) > limit:
        raise ReportError(f"A report of this format is limited to {limit // (1024 * 1024)} MB.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ReportError(f"The file is not valid JSON: {clean(exc, 160)}.") from None


def iter_json_lines(opener: Opener, max_line: int = 4 * 1024 * 1024) -> Iterator[tuple[int, object]]:
    """(line number, value) for each non-empty line of a JSON Lines file, one line in memory at a time."""
    import json

    with opener() as fh:
        for number, line in enumerate(iter(lambda: fh.readline(max_line + 1), b""), start=1):
            if len(line) > max_line:
                raise ReportError(f"Line {number} is longer than {max_line // (1024 * 1024)} MB.")
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except (ValueError, RecursionError):
                raise ReportError(f"Line {number} is not valid JSON.") from None


def severity_rank(severity: str) -> int:
    from ..choices import SEVERITY_RANK

    return SEVERITY_RANK.get(severity, 0)
