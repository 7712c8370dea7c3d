"""CSV export: one row per project × practice, streamed in constant memory.

Why streamed: an organisation-wide export can hold thousands of projects; the Django layer hands us
a one-shot generator and a StreamingHttpResponse, so each project is turned into its rows, written
and dropped before the next is read. `iter_csv` yields the text chunk of one project at a time for
that response; `write_csv` writes to any text stream (open it with newline="").

Spreadsheets execute cells that start with =, +, -, @, tab or carriage return (CSV/formula
injection). Every text cell that starts with one is prefixed with a single quote, as OWASP
recommends; numbers are never negative here and are written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, TextIO

from .common import answer_status, assessment_cycle, assessment_status

HEADER = ["project_id", "project", "team", "risk_tier", "cycle", "assessment_status", "code", "title", "level",
          "not_applicable", "score", "effective_level", "status", "evidence_count", "verified", "owner",
          "target_level", "due_date", "action_status", "action_due_on", "action_overdue"]

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell value a spreadsheet will not execute: text starting with a formula trigger gets a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value.startswith(_DANGEROUS) else value
    return value


def project_rows(project: dict) -> Iterator[list]:
    """The rows of one project, one per answer (the dataset has one answer per practice)."""
    status, cycle = assessment_status(project), assessment_cycle(project)
    team = project.get("team_name") or project.get("team")
    for answer in project.get("answers", ()):
        row = [project.get("id"), project.get("name"), team, project.get("risk_tier"), cycle,
               status, answer.get("code"), answer.get("title"),
               answer.get("level"), bool(answer.get("not_applicable")), answer.get("score"),
               answer.get("effective_level"), answer_status(answer), answer.get("evidence_count", 0),
               bool(answer.get("verified")), answer.get("owner"), answer.get("target_level"), answer.get("due_date")]
        action = answer.get("action") or {}
        row += [action.get("status"), action.get("due_on"), bool(action.get("overdue")) if action else None]
        yield [safe_cell(v) for v in row]


def iter_csv(dataset: dict) -> Iterator[str]:
    """The CSV as text chunks: the header, then the rows of each project (consumes projects once)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(HEADER)
    yield take()
    for project in dataset["projects"]:
        writer.writerows(project_rows(project))
        yield take()


def write_csv(dataset: dict, out: TextIO) -> int:
    """Write the CSV to the text stream `out`; returns the number of data rows (header excluded)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    rows = 0
    for project in dataset["projects"]:
        for row in project_rows(project):
            writer.writerow(row)
            rows += 1
    return rows
