"""Small helpers shared by the renderers: answer status, text clean-up, writing to text or bytes.

They live here so that the CSV, PDF and OSCAL exports describe an answer with exactly the same words.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

# The order matters: the first that applies is the answer's status (CSV `status` column, PDF, OSCAL).
# "submitted": no approved answer yet, but the project's assessment awaits review.
STATUSES = ("not assessed", "submitted", "not applicable", "capped", "accepted", "stale", "verified", "self-assessed")


def answer_status(answer: dict) -> str:
    """One word for an answer: the first of STATUSES that applies."""
    if answer.get("not_applicable"):
        return "not applicable"
    if answer.get("level") is None:
        return "submitted" if answer.get("submitted") else "not assessed"
    for flag in ("capped", "accepted", "stale", "verified"):
        if answer.get(flag):
            return flag
    return "self-assessed"


def assessment_status(project: dict) -> str:
    """The project's assessment status in an export: approved (it counts), submitted (awaiting review,
    nothing counts yet) or not assessed."""
    assessment = project.get("assessment") or {}
    if assessment.get("status"):
        return assessment["status"]
    return "submitted" if project.get("awaiting_review") else "not assessed"


def assessment_cycle(project: dict) -> str | None:
    """The cycle the assessment status is about: the approved one, else the one awaiting review."""
    return ((project.get("assessment") or {}).get("cycle") or (project.get("awaiting_review") or {}).get("cycle"))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")


def one_line(value: Any, limit: int | None = None) -> str:
    """`value` as a single trimmed line (OSCAL titles and property values must not hold newlines)."""
    text = _SPACE.sub(" ", _CONTROL.sub("", "" if value is None else str(value))).strip()
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return text


def strip_control(value: Any) -> str:
    """Text without control characters (which PDF and XML-ish markup cannot hold), newlines kept."""
    return _CONTROL.sub("", "" if value is None else str(value)).replace("\r\n", "\n").replace("\r", "\n")


def json_default(value: Any) -> Any:
    """orjson's fallback: the Django layer may hand us Decimals, sets or tuples inside the dataset."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def byte_writer(out: Any) -> Callable[[bytes], Any]:
    """A function writing UTF-8 bytes to `out`, whether `out` takes bytes or str.

    Text streams (StringIO, open(..., "w"), sys.stdout) get decoded text; binary ones (BytesIO, files
    opened "wb", a zip member) get the bytes. Anything else is probed with an empty bytes write, which
    a text stream rejects with TypeError before writing anything.
    """
    if isinstance(out, io.TextIOBase):
        text = True
    elif isinstance(out, io.RawIOBase | io.BufferedIOBase):
        text = False
    else:
        try:
            out.write(b"")
            text = False
        except TypeError:
            text = True
    if text:
        return lambda data: out.write(data.decode("utf-8"))
    return out.write
