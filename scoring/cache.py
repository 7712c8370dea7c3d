"""Today's scorecard, remembered until something it shows changes.

The rollup (`rollup.py`) makes reading "now" independent of how many answers were ever given, but
the scorecard API and the dashboard still assembled and encoded every team × practice cell on every
request: 50,000 cells at 2,000 teams. The finished document is a pure function of

- the teams it shows (id, slug, name) and the revision of each team's rollup rows, which
  `rollup._write_teams` replaces with a new random value in the transaction that rewrites them;
- the active practices (id, code, number, weight, title) and the catalogue version;
- the day (an answer's staleness is computed against today).

So it is kept in Django's cache with a digest of exactly those inputs (docs/scoring.md, "The
cache"), one entry per scope and kind, replaced when the digest differs. A reader needs one extra
query (the revisions) and, when nothing changed, no assembly at all. Because a
revision is read before the rows it covers, a document stored under a key can only be newer than
that key, never older; and a revision is random, so a restored backup or a rolled-back transaction
cannot bring back a key that named other figures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from .models import TeamScoreRevision

TTL_SECONDS = 3600
LONG_IN_LIST = 500  # above this many teams, read every revision (one small row per team) and pick in Python
# Part of every key: bump it when what is remembered changes shape (the API document, DashboardCard,
# PracticeScore), so that during a rolling deploy no process reads what another version stored.
FORMAT = 2

log = logging.getLogger(__name__)


def revisions(team_ids: Sequence[int]) -> dict[int, int]:
    rows = TeamScoreRevision.objects.order_by()
    if len(team_ids) <= LONG_IN_LIST:
        rows = rows.filter(team_id__in=list(team_ids))
    return dict(rows.values_list("team_id", "revision"))  # extra teams' revisions are simply not looked up


@dataclass(frozen=True)
class Key:
    slot: str  # who asks: the kind and the teams (one entry per scope, overwritten on change)
    digest: str  # what it shows: everything the document is a function of


def key(kind: str, teams: Sequence, practices: Sequence, *, catalog_version: str, today: dt.date) -> Key:
    """The digest of everything the document shows; one query (the teams' revisions). `teams`: anything
    with `id`, `slug` and `name` (teams, or rows of them)."""
    revs = revisions([t.id for t in teams])
    slot = hashlib.sha256(repr((FORMAT, kind, [t.id for t in teams])).encode()).hexdigest()
    digest = hashlib.sha256()
    digest.update(repr((FORMAT, kind, today.isoformat(), catalog_version,
                        [(p.id, p.code, p.number, str(p.weight), p.title) for p in practices])).encode())
    for t in teams:
        digest.update(repr((t.id, revs.get(t.id), t.slug, t.name)).encode())
    return Key(slot=f"mlsec:scorecard:{kind}:{slot}", digest=digest.hexdigest())


def remember(cache_key: Key, build: Callable[[], Any]) -> Any:
    """The document stored for this scope if it was built from the same inputs, else a new one, which
    replaces it: each scope (the officers' whole organisation, each lead's teams) holds one entry per
    kind, so memory is bounded by the scopes, not by the changes. A cache that fails is skipped."""
    try:
        stored = cache.get(cache_key.slot)
    except Exception:  # noqa: BLE001 - a cache outage must not take the pages down; they are built instead
        log.warning("scorecard cache unavailable: building the document", exc_info=True)
        return build()
    if stored is not None and stored[0] == cache_key.digest:
        return stored[1]
    value = build()
    try:
        cache.set(cache_key.slot, (cache_key.digest, value), TTL_SECONDS)
    except Exception:  # noqa: BLE001
        log.warning("scorecard cache unavailable: document not kept", exc_info=True)
    return value
