"""Findings of one upload against those already known: de-duplicated by fingerprint, batched.

The findings stream past in batches of `BATCH`: each batch costs one query for the fingerprints
already known and one bulk write each for new and updated rows, so memory stays constant however
long the report. Afterwards, for every tool the report speaks for, the open findings of that tool
and branch it did not report are closed (one UPDATE).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import islice

from django.utils import timezone

from .choices import FindingStatus
from .models import PipelineFinding, ResultUpload

BATCH = 500
UPDATED = ["severity", "title", "detail", "ref", "rule_id", "commit", "asset_name", "asset_digest", "status",
           "last_upload", "last_seen_at", "closed_upload", "closed_at", "definition"]


@dataclass
class Outcome:
    new: int = 0
    closed: int = 0
    severities: Counter = field(default_factory=Counter)
    by_check: dict = field(default_factory=lambda: defaultdict(Counter))


def record_findings(item: ResultUpload, report) -> Outcome:
    outcome = Outcome()
    now = timezone.now()
    seen: set[tuple[str, str]] = set()  # (tool, fingerprint) already handled in this upload
    stream = iter(report.findings)
    while batch := list(islice(stream, BATCH)):
        fresh = {}
        for parsed in batch:
            if (parsed.tool, parsed.fingerprint) not in seen:
                seen.add((parsed.tool, parsed.fingerprint))
                fresh[(parsed.tool, parsed.fingerprint)] = parsed
                outcome.severities[parsed.severity] += 1
                outcome.by_check[parsed.check][parsed.severity] += 1
        _write_batch(item, fresh, now, outcome)
    for tool, check in report.tools.items():
        if check in report.undecided:
            # A report that could not decide (files it could not scan, statements no trusted key signed)
            # proves no fix: the findings earlier reports recorded stay open.
            continue
        outcome.closed += (PipelineFinding.objects
                           .filter(project_id=item.project_id, tool=tool, branch=item.branch, status=FindingStatus.OPEN)
                           .exclude(last_upload=item)
                           .update(status=FindingStatus.CLOSED, closed_upload=item, closed_at=now))
    return outcome


def _write_batch(item: ResultUpload, fresh: dict, now, outcome: Outcome) -> None:
    if not fresh:
        return
    existing = {(f.tool, f.fingerprint): f for f in PipelineFinding.objects.filter(
        project_id=item.project_id, branch=item.branch, tool__in={k[0] for k in fresh},
        fingerprint__in=[k[1] for k in fresh])}
    created, updated = [], []
    for key, parsed in fresh.items():
        values = {"severity": parsed.severity, "title": parsed.title[:300], "detail": parsed.detail[:2000],
                  "ref": parsed.ref[:500], "rule_id": parsed.rule_id[:200], "commit": item.commit,
                  "asset_name": parsed.asset_name[:500], "asset_digest": parsed.asset_digest[:100],
                  "status": FindingStatus.OPEN, "last_upload": item, "last_seen_at": now, "closed_upload": None,
                  "closed_at": None, "definition_id": parsed.check}
        row = existing.get(key)
        if row is None:
            created.append(PipelineFinding(project_id=item.project_id, tool=parsed.tool, branch=item.branch,
                                           fingerprint=parsed.fingerprint, first_upload=item, first_seen_at=now, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
            updated.append(row)
    PipelineFinding.objects.bulk_create(created, batch_size=BATCH)
    if updated:
        PipelineFinding.objects.bulk_update(updated, UPDATED, batch_size=BATCH)
    outcome.new += len(created)
