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

Each process also keeps the entries it last read or built (`_Local`): the same digest names the same
document, so a process that already holds it does not fetch and unpickle it again (5.5 MB of JSON and
its gzip at 2,000 teams, from Redis in production) on every request; the digest is still read from the
database every time, so this copy is exactly as fresh as the shared one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from .models import TeamScoreRevision

TTL_SECONDS = 3600
# What one process keeps in its own memory: at most this many scopes and bytes (the officers' documents at
# 2,000 teams are ~6 MB for the API and ~3 MB for the dashboard), for at most TTL_SECONDS like the shared cache.
LOCAL_ENTRIES = 16
LOCAL_BYTES = 64 * 1024 * 1024
LONG_IN_LIST = 500  # above this many teams, read every revision (one small row per team) and pick in Python
# Part of every key: bump it when what is remembered changes shape (the API document, DashboardCard,
# PracticeScore), so that during a rolling deploy no process reads what another version stored.
FORMAT = 4

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


@dataclass(frozen=True)
class TeamRow:
    id: int
    slug: str
    name: str
    revision: int | None


def revision_of_team() -> Subquery:
    """The team's rollup revision, for `.annotate()` on teams (None before its first rollup)."""
    return Subquery(TeamScoreRevision.objects.filter(team_id=OuterRef("pk")).values("revision")[:1])


def rows_with_revisions(teams: QuerySet) -> list:
    """The teams as (id, slug, name, revision) rows, in the queryset's order, in one query."""
    return list(teams.annotate(revision=revision_of_team()).values_list("id", "slug", "name", "revision", named=True))


def _team_line(team_id, revision, slug: str, name: str) -> str:
    # Lengths first, so that no name can be made to read as another team's line.
    return f"{team_id}:{'none' if revision is None else revision}:{len(slug)}:{slug}:{len(name)}:{name}"


def _key(kind: str, ids: str, teams_part: str, practices: Sequence, catalog_version: str, today: dt.date) -> Key:
    slot = hashlib.sha256(repr((FORMAT, kind, "ids", ids)).encode()).hexdigest()
    digest = hashlib.sha256(repr((FORMAT, kind, today.isoformat(), catalog_version,
                                  [(p.id, p.code, p.number, str(p.weight), p.title) for p in practices],
                                  teams_part)).encode()).hexdigest()
    return Key(slot=f"mlsec:scorecard:{kind}:{slot}", digest=digest)


def key_of_rows(kind: str, rows: Sequence, practices: Sequence, *, catalog_version: str, today: dt.date) -> Key:
    """The digest of everything the document shows, from teams read with their revisions: anything with
    `id`, `slug`, `name` and `revision`. No query."""
    ordered = sorted(rows, key=lambda r: r.id)
    ids = ",".join(str(r.id) for r in ordered)
    lines = "\n".join(_team_line(r.id, r.revision, r.slug, r.name) for r in ordered)
    return _key(kind, ids, hashlib.sha256(lines.encode()).hexdigest(), practices, catalog_version, today)


def key(kind: str, teams: Sequence, practices: Sequence, *, catalog_version: str, today: dt.date) -> Key:
    """As `key_of_rows`, for teams without their revisions (anything with `id`, `slug` and `name`):
    one query, the revisions."""
    revs = revisions([t.id for t in teams])
    return key_of_rows(kind, [TeamRow(t.id, t.slug, t.name, revs.get(t.id)) for t in teams], practices,
                       catalog_version=catalog_version, today=today)


def _digest_statement(teams: QuerySet) -> tuple[str, tuple]:
    """The statement that computes a key's teams part for the queryset's teams, and its parameters.

    Written out rather than composed with the ORM: it runs on every remembered request (the dashboard,
    its heatmap, the scorecard API), and compiling the composed aggregate cost three times as long as
    PostgreSQL took to run it (3 ms of Python for 1 ms of SQL at 200 teams). The revision is joined
    (one row per team, the team is its primary key) instead of looked up per team. The line is
    `_team_line`'s, and `test_the_database_digest_is_the_digest_of_the_rows` holds them equal."""
    quote = connection.ops.quote_name
    team_table, revision_table = quote(teams.model._meta.db_table), quote(TeamScoreRevision._meta.db_table)
    scope, params = "", ()
    if teams.query.where or teams.query.is_sliced:  # every team needs no filter (the officers' scope)
        try:
            ids = teams if teams.query.is_sliced else teams.order_by()  # a slice keeps the order it was cut in
            ids_sql, params = ids.values("pk").query.sql_with_params()
            scope = f" WHERE t.id IN ({ids_sql})"
        except EmptyResultSet:  # .none(), or a filter on an empty list: no team
            scope = " WHERE FALSE"
    line = ("t.id::text || ':' || COALESCE(r.revision::text, 'none') || ':' || length(t.slug)::text || ':' || t.slug"
            " || ':' || length(t.name)::text || ':' || t.name")
    sql = (f"SELECT COALESCE(STRING_AGG(t.id::text, ',' ORDER BY t.id), ''), "  # noqa: S608 (names from models, values bound)
           f"encode(sha256(convert_to(COALESCE(STRING_AGG({line}, E'\\n' ORDER BY t.id), ''), 'UTF8')), 'hex') "
           f"FROM {team_table} t LEFT JOIN {revision_table} r ON r.team_id = t.id{scope}")
    return sql, tuple(params)


def key_in_database(kind: str, teams: QuerySet, practices: Sequence, *, catalog_version: str,
                    today: dt.date) -> Key | None:
    """`key_of_rows` of the queryset's teams, the same digest, with the teams' part computed by PostgreSQL
    in one statement: the officers' scope is every team, and reading 2,000 teams and their revisions
    into Python to hash them was half of a remembered request at 20,000 projects. None elsewhere (the
    embedded SQLite), where the rows are read (`rows_with_revisions`)."""
    if connection.vendor != "postgresql":
        return None
    sql, params = _digest_statement(teams)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids, lines = cursor.fetchone()
    return _key(kind, ids, lines, practices, catalog_version, today)


def _nbytes(value: Any) -> int:
    """What a remembered document weighs: its encoded bytes (`nbytes`), or a generous guess."""
    return int(getattr(value, "nbytes", 256 * 1024))


class _Local:
    """The last entries this process read or built, slot -> (digest, document, size, stored at), least
    recently used first out: bounded by scopes, bytes and age, whatever the number of changes."""

    def __init__(self, size: int, max_bytes: int = LOCAL_BYTES, ttl: float = TTL_SECONDS):
        self.size, self.max_bytes, self.ttl = size, max_bytes, ttl
        self.entries, self.nbytes, self.lock = OrderedDict(), 0, threading.Lock()

    def get(self, key: Key) -> Any:
        with self.lock:
            stored = self.entries.get(key.slot)
            if stored is None or stored[0] != key.digest:
                return None
            if time.monotonic() - stored[3] > self.ttl:
                self._drop(key.slot)
                return None
            self.entries.move_to_end(key.slot)
            return stored[1]

    def put(self, key: Key, value: Any) -> None:
        size = _nbytes(value)
        with self.lock:
            if key.slot in self.entries:
                self._drop(key.slot)
            if size > self.max_bytes:
                return  # larger than the whole budget: the shared cache alone keeps it
            self.entries[key.slot] = (key.digest, value, size, time.monotonic())
            self.nbytes += size
            while len(self.entries) > self.size or self.nbytes > self.max_bytes:
                self._drop(next(iter(self.entries)))

    def _drop(self, slot: str) -> None:
        self.nbytes -= self.entries.pop(slot)[2]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.nbytes = 0


local = _Local(LOCAL_ENTRIES)


def forget() -> None:
    """Drop every remembered document: this process's copies, and the whole shared cache (throttle
    counters too: for benchmarks' cold requests and tests, never for a running portal)."""
    local.clear()
    cache.clear()


def remember(cache_key: Key, build: Callable[[], tuple[Key, Any]]) -> Any:
    """The document stored for this scope if it was built from the same inputs, else a new one, which
    replaces it: each scope (the officers' whole organisation, each lead's teams) holds one entry per
    kind, so memory is bounded by the scopes, not by the changes. `build` returns the document and
    the key of the inputs it was built from, which may be newer than `cache_key` (a team renamed in
    between): the document is stored under that one, so a name renamed back can never find a document
    that shows the other name. A cache that fails is skipped."""
    held = local.get(cache_key)
    if held is not None:
        return held
    try:
        stored = cache.get(cache_key.slot)
    except Exception:  # noqa: BLE001 - a cache outage must not take the pages down; they are built instead
        log.warning("scorecard cache unavailable: building the document", exc_info=True)
        built_key, value = build()
        local.put(built_key, value)
        return value
    if stored is not None and stored[0] == cache_key.digest:
        local.put(cache_key, stored[1])
        return stored[1]
    building = f"{cache_key.slot}:building:{cache_key.digest}"
    try:
        mine = cache.add(building, 1, BUILD_LOCK_S)
    except Exception:  # noqa: BLE001 - no cache to agree through: build
        mine = True
    if not mine:
        waited = _wait_for_build(cache_key, building)
        if waited is not None:
            local.put(cache_key, waited)
            return waited
    try:
        built_key, value = build()
        local.put(built_key, value)
        try:
            cache.set(built_key.slot, (built_key.digest, value), TTL_SECONDS)
        except Exception:  # noqa: BLE001
            log.warning("scorecard cache unavailable: document not kept", exc_info=True)
    finally:
        if mine:
            try:
                cache.delete(building)
            except Exception:  # noqa: BLE001 - it expires on its own (BUILD_LOCK_S)
                log.warning("scorecard cache unavailable: build marker left to expire", exc_info=True)
    return value


#: Single flight: after a change, the first request for a scope builds its document and the others for
#: the same inputs wait for it (up to BUILD_WAIT_S, looking at the marker every BUILD_POLL_S) instead of
#: each building it again — at 20,000 projects a build costs ~0.5 s of CPU. A waiter builds it itself when
#: the builder ends without storing that document (its inputs changed meanwhile) or takes too long, and
#: the marker lapses after BUILD_LOCK_S if the builder died.
BUILD_LOCK_S, BUILD_WAIT_S, BUILD_POLL_S = 30, 5.0, 0.02


def _wait_for_build(cache_key: Key, building: str) -> Any:
    """Watch the small marker, never the document (megabytes at 2,000 teams, the old one until replaced);
    once the builder has stored its document and removed the marker, read the slot once."""
    deadline = time.monotonic() + BUILD_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(BUILD_POLL_S)
        try:
            if cache.get(building) is None:
                stored = cache.get(cache_key.slot)
                return stored[1] if stored is not None and stored[0] == cache_key.digest else None
        except Exception:  # noqa: BLE001
            return None
    return None
