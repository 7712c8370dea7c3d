"""Today's scorecard, remembered until something it shows changes.

The rollup (`rollup.py`) makes reading "now" independent of how many answers were ever given, but
the scorecard API and the dashboard still assembled and encoded every team × practice cell on every
request: 50,000 cells at 2,000 teams. The finished document is a pure function of

- the teams it shows (id, slug, name) and the revision of each team's rollup rows, which
  `rollup._write_teams` replaces with a new random value in the transaction that rewrites them;
- the active practices (id, code, number, weight) and the catalogue version;
- the day (an answer's staleness is computed against today).

So it is kept in Django's cache under a digest of exactly those inputs (docs/scoring.md, "The
cache"). A reader needs one extra query (the revisions) and, when nothing changed, no assembly at
all. Nothing is ever invalidated: a change makes a new key and the old entry ages out. Because a
revision is read before the rows it covers, a document stored under a key can only be newer than
that key, never older; and a revision is random, so a restored backup or a rolled-back transaction
cannot bring back a key that named other figures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from django.core.cache import cache

from .models import TeamScoreRevision

TTL_SECONDS = 3600
LONG_IN_LIST = 5000  # above this many teams, read every revision and pick in Python (as rollup._read does)


def revisions(team_ids: Sequence[int]) -> dict[int, int]:
    rows = TeamScoreRevision.objects.order_by()
    if len(team_ids) <= LONG_IN_LIST:
        rows = rows.filter(team_id__in=list(team_ids))
    return dict(rows.values_list("team_id", "revision"))


def key(kind: str, teams: Sequence, practices: Sequence, *, catalog_version: str, today: dt.date) -> str:
    """The digest of everything the document shows; one query (the teams' revisions)."""
    revs = revisions([t.id for t in teams])
    digest = hashlib.sha256()
    digest.update(repr((kind, today.isoformat(), catalog_version,
                        [(p.id, p.code, p.number, str(p.weight)) for p in practices])).encode())
    for t in teams:
        digest.update(repr((t.id, revs.get(t.id), t.slug, t.name)).encode())
    return f"mlsec:scorecard:{kind}:{digest.hexdigest()}"


def remember(cache_key: str, build: Callable[[], Any]) -> Any:
    value = cache.get(cache_key)
    if value is None:
        value = build()
        cache.set(cache_key, value, TTL_SECONDS)
    return value
