"""Statement of Applicability (ISO/IEC 42001 Annex A) as CSV: one row per control.

The dataset's `statement_of_applicability` (frameworks/soa.py) holds the controls; this only writes
them. Cells with several values (practices, owners, evidence) put one value per line. Text cells that
a spreadsheet would execute get a leading quote, like the main CSV export.
"""

from __future__ import annotations

import csv
import io
from typing import TextIO

from .csv import safe_cell

SOA_HEADER = ["control", "title", "objective", "applicable", "justification", "implementation_status", "readiness",
              "coverage", "verified", "practices", "owners", "evidence", "evidence_sha256", "accepted_risks"]


def _round(value):
    return None if value is None else round(value, 1)


def _evidence(item: dict) -> str:
    where = item.get("file") or item.get("url") or ""
    return f"{item.get('project')} · {item.get('practice')} · {item.get('title')} [{item.get('status')}] {where}".strip()


def soa_rows(soa: dict):
    for control in soa.get("controls") or ():
        evidence = control.get("evidence") or []
        row = [
            control.get("ref"), control.get("title"), f"{control.get('objective_ref')} {control.get('objective')}",
            "yes" if control.get("applicable") else "no", control.get("justification"), control.get("status"),
            _round(control.get("readiness")), _round(control.get("coverage")), _round(control.get("verified")),
            "\n".join(control.get("practices") or ()), "\n".join(control.get("owners") or ()),
            "\n".join(_evidence(e) for e in evidence),
            "\n".join(f"{e.get('id')}: {e.get('sha256')}" for e in evidence if e.get("sha256")),
            "\n".join(f"{a.get('project')} · {a.get('practice')} until {a.get('expires_on')}: {a.get('justification')}"
                      for a in control.get("accepted_risks") or ()),
        ]
        yield [safe_cell(v) for v in row]


def write_soa_csv(dataset: dict, out: TextIO) -> int:
    """Write the SoA of `dataset` to the text stream `out` (newline=""); returns the number of controls."""
    soa = dataset.get("statement_of_applicability")
    if not soa:
        raise ValueError("the dataset has no statement_of_applicability")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SOA_HEADER)
    count = 0
    for row in soa_rows(soa):
        writer.writerow(row)
        count += 1
    return count


def soa_csv_bytes(dataset: dict) -> bytes:
    buffer = io.StringIO(newline="")
    write_soa_csv(dataset, buffer)
    return buffer.getvalue().encode("utf-8")
