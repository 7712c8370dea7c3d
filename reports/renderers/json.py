"""JSON export: the dataset itself, streamed so that projects are never all in memory at once.

The document is `{<every header key>..., "projects": [<project>, <project>, ...]}`: the header keys
(title, scope, summary, practices, teams, ...) are serialised first, then each project on its own
line as it comes out of the (possibly one-shot) generator. `json.loads` of the output equals the
dataset with its projects materialised. Output is UTF-8 (non-ASCII kept as is).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO, TextIO

import orjson

from .common import byte_writer, json_default


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=json_default)


def iter_json(dataset: dict) -> Iterator[bytes]:
    """The JSON document as UTF-8 chunks: the header in one, then one chunk per project."""
    parts = [_dumps(str(k)) + b":" + _dumps(v) for k, v in dataset.items() if k != "projects"]
    yield b"{" + b"".join(part + b"," for part in parts) + b'"projects":['
    first = True
    for project in dataset.get("projects", ()):
        yield (b"\n" if first else b",\n") + _dumps(project)
        first = False
    yield b"\n]}\n"


def write_json(dataset: dict, out: TextIO | BinaryIO) -> int:
    """Write the JSON document to `out` (text or binary stream); returns the number of projects."""
    write = byte_writer(out)
    count = -2  # the header chunk and the closing chunk are not projects
    for chunk in iter_json(dataset):
        write(chunk)
        count += 1
    return count
