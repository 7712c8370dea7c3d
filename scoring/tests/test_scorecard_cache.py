"""Today's scorecard is remembered (scoring/cache.py), and never shown after something in it changed.

The property test (test_rollup_property.py) drives random events and compares the remembered
documents with fresh ones after each; these tests pin the cases it cannot draw: who is asking, names,
the day, a restored database, and an event landing between the key and the rows.
"""

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.core.cache import cache as django_cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.choices import OrgRole, TeamRole
from accounts.models import Membership, Team
from accounts.tests.factories import TeamFactory, UserFactory
from assessments import services as assessment_services
from assessments.choices import AssessmentStatus
from assessments.tests.factories import ProjectFactory, make_assessment
from checks.models import CheckRun
from checks.runners.base import CheckResult
from checks.services import finish_run
from controls.models import Practice
from scoring import cache as scorecard_cache
from scoring import services as scoring_services
from scoring.models import TeamRollup, TeamScoreRevision

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    officer = UserFactory(username="cache-officer", org_role=OrgRole.OFFICER)
    lead = UserFactory(username="cache-lead")
    team, other = TeamFactory(slug="cache-a", name="Cache A"), TeamFactory(slug="cache-b", name="Cache B")
    Membership.objects.create(user=lead, team=team, role=TeamRole.LEAD)
    project, third = ProjectFactory(team=team), ProjectFactory(team=other)
    return officer, lead, team, other, project, third


def approve(officer, project, levels, cycle):
    assessment = make_assessment(project, cycle=cycle, status=AssessmentStatus.SUBMITTED, levels=levels)
    assessment_services.assessment_approve(actor=officer, assessment=assessment)


def scores(api, user, **params):
    body = api(user).get("/api/v1/scorecard/", params).json()
    return {t["team"]: t["score"] for t in body["teams"]}, body


def test_a_second_request_reads_no_rollup_row_and_a_change_is_shown_at_once(world, api):
    officer, _, team, _, project, _ = world
    approve(officer, project, 2, "2026-Q1")
    first, _ = scores(api, officer)
    with CaptureQueriesContext(connection) as again:
        second, _ = scores(api, officer)
    assert second == first
    assert not [q for q in again.captured_queries if TeamRollup._meta.db_table in q["sql"]]
    approve(officer, project, 4, "2026-Q2")  # supersedes: the team's rows and revision change
    assert scores(api, officer)[0][team.slug] == 100.0 != first[team.slug]


def test_a_lead_never_gets_the_document_remembered_for_an_officer_nor_the_reverse(world, api, web):
    officer, lead, team, other, project, third = world
    approve(officer, project, 2, "2026-Q1")
    approve(officer, third, 3, "2026-Q1")
    assert set(scores(api, officer)[0]) == {team.slug, other.slug}
    assert set(scores(api, lead)[0]) == {team.slug}
    assert api(lead).get("/api/v1/scorecard/", {"team": other.slug}).status_code == 404
    assert set(scores(api, officer)[0]) == {team.slug, other.slug}
    dashboard = web(lead).get("/dashboard/")
    assert dashboard.status_code == 302  # leads have their home page, not the organisation's dashboard


def test_a_renamed_team_and_a_renamed_practice_show_at_once(world, api, web):
    officer, _, team, _, project, _ = world
    approve(officer, project, 2, "2026-Q1")
    scores(api, officer)
    team.name = "Renamed team"
    team.save()
    practice = Practice.objects.get(code="MLS-01")
    practice.code = "MLS-01X"
    practice.save()
    body = scores(api, officer)[1]
    assert {t["name"] for t in body["teams"]} == {"Renamed team", "Cache B"}
    assert "MLS-01X" in {p["code"] for p in body["practices"]}
    heatmap = web(officer).get("/dashboard/heatmap.json").json()["data"][0]
    assert "Renamed team" in heatmap["y"] and "MLS-01X" in heatmap["x"]


def test_a_new_day_is_a_new_document(world, api):
    officer, *_ = world
    today = timezone.localdate()
    assert scores(api, officer)[1]["as_of"] == today.isoformat()
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        assert scores(api, officer)[1]["as_of"] == (today + dt.timedelta(days=1)).isoformat()


def test_a_restored_database_cannot_bring_back_a_document_of_other_figures(world, api):
    """A counter would: restore the revision to its old value, change something else, and the counter
    lands on the value the lost change had. The revision is random, so that key is never met again."""
    officer, _, team, _, project, _ = world
    approve(officer, project, 2, "2026-Q1")
    before = TeamScoreRevision.objects.get(team=team).revision
    approve(officer, project, 4, "2026-Q2")
    assert scores(api, officer)[0][team.slug] == 100.0  # remembered under the new revision
    after = TeamScoreRevision.objects.get(team=team).revision
    assert after != before
    # "Restore a backup": the rows of the first approval, and its revision, come back ...
    make_assessment(project, cycle="2026-Q3", status=AssessmentStatus.SUBMITTED, levels=1)
    TeamScoreRevision.objects.filter(team=team).update(revision=before)
    # ... and a different change follows: it must be shown, not the document of the lost one.
    approve(officer, project, 1, "2026-Q4")
    assert TeamScoreRevision.objects.get(team=team).revision not in (before, after)
    assert scores(api, officer)[0][team.slug] == 25.0


def test_an_event_committed_between_the_key_and_the_rows_is_shown_by_the_next_request(world, api, monkeypatch):
    """The key is read first, the rows after: a document can be newer than its key, never older."""
    officer, _, team, _, project, _ = world
    approve(officer, project, 2, "2026-Q1")
    read_rows = scoring_services.rollup.team_inputs
    landed = []

    def an_approval_lands_first(team_ids):
        if not landed:
            landed.append(True)
            approve(officer, project, 4, "2026-Q2")
        return read_rows(team_ids)

    monkeypatch.setattr(scoring_services.rollup, "team_inputs", an_approval_lands_first)
    scores(api, officer)
    assert landed
    assert scores(api, officer)[0][team.slug] == 100.0


@pytest.mark.parametrize("page", ["api", "dashboard"])
def test_a_team_renamed_while_its_document_is_built_and_renamed_back_shows_its_name(world, api, web, monkeypatch, page):
    """On PostgreSQL the key is digested in the database and the rows are read only to build: a rename
    in between makes the document newer than the key it was asked under. It is stored under the key of
    the rows it was built from, so renaming the team back cannot find it (found by review)."""
    officer, _, team, _, project, _ = world
    approve(officer, project, 2, "2026-Q1")
    read = scorecard_cache.rows_with_revisions
    renamed = []

    def renamed_just_before(teams):
        if not renamed:
            renamed.append(True)
            team.name = "Renamed meanwhile"
            team.save()
        return read(teams)

    def shown():
        if page == "api":
            return api(officer).get("/api/v1/scorecard/").content.decode()
        return web(officer).get("/dashboard/heatmap.json").content.decode()

    scorecard_cache.forget()
    monkeypatch.setattr(scorecard_cache, "rows_with_revisions", renamed_just_before)
    assert "Renamed meanwhile" in shown() and renamed
    team.name = "Cache A"
    team.save()
    assert "Renamed meanwhile" not in shown()
    assert "Cache A" in shown()


def test_the_database_digest_is_the_digest_of_the_rows(world):
    """PostgreSQL digests the teams' part of the key (`key_in_database`); elsewhere Python does it from the
    rows (`key_of_rows`): the two must agree for any teams, names with separators included."""
    if connection.vendor != "postgresql":
        pytest.skip("the digest in the database is PostgreSQL's (string_agg, sha256); SQLite reads the rows")
    officer, _, team, other, _, _ = world
    other.name = "Cache B:3:x\n4:none:1:y"
    other.save()
    TeamScoreRevision.objects.filter(team=team).delete()  # a team that never had a rollup
    practices = list(Practice.objects.active().order_by("number"))
    today = dt.date(2026, 12, 2)
    other_name = Team.objects.filter(name__startswith="Cache B:3")  # a bound value with % and _ around it
    scopes = (Team.objects.order_by("name"), Team.objects.filter(pk=other.pk), Team.objects.none(),
              Team.objects.filter(pk__in=[]), Team.objects.filter(memberships__user=officer), other_name,
              Team.objects.filter(name__contains="%_"), Team.objects.order_by("pk")[:1])  # a slice, no filter
    for teams in scopes:
        in_database = scorecard_cache.key_in_database("api", teams, practices, catalog_version="v", today=today)
        rows = scorecard_cache.rows_with_revisions(teams)
        assert in_database == scorecard_cache.key_of_rows("api", rows, practices, catalog_version="v", today=today)
        assert in_database == scorecard_cache.key("api", list(teams), practices, catalog_version="v", today=today)


def test_a_repeated_verdict_keeps_the_revision_and_a_different_one_renews_it(world):
    """Workers re-run checks all day: a run that ends as the last one did changes no figure, so the
    remembered scorecard stays valid; a verdict that changes a figure renews the team's revision."""
    officer, _, team, _, project, _ = world
    approve(officer, project, {"MLS-01": 3, "MLS-02": 3, "MLS-07": 3, "MLS-14": 3}, "2026-Q1")

    def verdict(status):
        run = CheckRun.objects.create(project=project, definition_id="endpoint-transport", status="running",
                                      started_at=timezone.now())
        finish_run(run, CheckResult(status, status))
        return TeamScoreRevision.objects.get(team=team).revision

    failed = verdict("failed")
    assert verdict("failed") == failed
    passed = verdict("passed")
    assert passed != failed
    assert verdict("passed") == passed


def test_a_retitled_practice_shows_at_once_on_the_dashboard(world, web):
    """The weakest practices are listed by title: the title is part of the key (found by review)."""
    officer, _, _, _, project, _ = world
    approve(officer, project, {"MLS-01": 0, "MLS-02": 4, "MLS-03": 4}, "2026-Q1")
    practice = Practice.objects.get(code="MLS-01")
    assert practice.title in web(officer).get("/dashboard/").content.decode()
    practice.title = "Retitled by an administrator"
    practice.save()  # what the admin does; the catalogue version stays
    assert "Retitled by an administrator" in web(officer).get("/dashboard/").content.decode()


UNREACHABLE = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}


def test_an_unreachable_cache_costs_the_assembly_not_the_pages(world, web, api, caplog):
    """The API's throttles keep their counts in the same cache: while it is down they are not enforced
    (mlsec_portal/throttling.py), so the API answers too."""
    officer, _, team, _, project, _ = world
    approve(officer, project, 3, "2026-Q1")
    with override_settings(CACHES=UNREACHABLE):
        assert scores(api, officer)[0][team.slug] == 75.0
        assert web(officer).get("/dashboard/").status_code == 200
        heatmap = web(officer).get("/dashboard/heatmap.json")
        assert heatmap.status_code == 200 and team.name in heatmap.json()["data"][0]["y"]
        assert web(officer).get(f"/teams/{team.slug}/").status_code == 200
    assert "scorecard cache unavailable" in caplog.text


def test_each_scope_keeps_one_entry_whatever_the_number_of_changes(world, api):
    """Entries are replaced, not accumulated: memory is bounded by who asks, not by how often scores move."""
    officer, lead, _, _, project, _ = world
    django_cache.clear()
    for cycle in range(8):
        approve(officer, project, cycle % 5, f"20{30 + cycle}-Q1")
        scores(api, officer)
        scores(api, lead)
    kept = [k for k in django_cache._cache if "mlsec:scorecard:api:" in k]  # the test settings' local memory
    assert len(kept) == 2


def test_a_process_holding_the_document_does_not_fetch_it_again_and_a_change_replaces_it(world, api, monkeypatch):
    """Each process keeps the documents it last read or built: the same digest is the same document, so
    the shared cache (Redis in production: megabytes per request at 2,000 teams) is not read again."""
    officer, lead, team, _, project, _ = world
    approve(officer, project, 2, "2026-Q1")
    first = scores(api, officer)[0]
    shared_reads = []
    real_get = scorecard_cache.cache.get
    monkeypatch.setattr(scorecard_cache.cache, "get", lambda key, *a, **k: (key.startswith("mlsec:scorecard:") and shared_reads.append(key))
                        or real_get(key, *a, **k))
    assert scores(api, officer)[0] == first and shared_reads == []
    approve(officer, project, 4, "2026-Q2")  # a new digest: the process's copy no longer matches
    assert scores(api, officer)[0][team.slug] == 100.0 != first[team.slug]
    assert len(shared_reads) == 1
    slots = [slot for slot in scorecard_cache.local.entries if ":api:" in slot]
    assert len(set(slots)) == len(slots)  # one entry per scope, replaced, not accumulated


def test_a_process_keeps_a_bounded_number_of_scopes(world, api, monkeypatch):
    officer, _, _, _, project, _ = world
    approve(officer, project, 2, "2026-Q1")
    monkeypatch.setattr(scorecard_cache, "local", scorecard_cache._Local(3))
    for n in range(6):  # six leads of six teams: six scopes
        team = TeamFactory(slug=f"bound-{n}")
        lead = UserFactory(username=f"bound-lead-{n}")
        Membership.objects.create(user=lead, team=team, role=TeamRole.LEAD)
        assert set(scores(api, lead)[0]) == {team.slug}
    assert len(scorecard_cache.local.entries) == 3
    assert scores(api, lead)[0] == {team.slug: None}  # the newest is still held, and still right


def test_a_process_copy_is_bounded_by_bytes_and_age_too():
    class Doc:
        def __init__(self, nbytes):
            self.nbytes = nbytes

    local = scorecard_cache._Local(10, max_bytes=100)
    keys = [scorecard_cache.Key(slot=f"s{n}", digest="d") for n in range(4)]
    for key in keys[:3]:
        local.put(key, Doc(40))
    assert list(local.entries) == ["s1", "s2"] and local.nbytes == 80  # the oldest left for the third
    local.put(keys[3], Doc(500))  # over the whole budget: kept by the shared cache only
    assert local.get(keys[3]) is None and local.nbytes == 80
    local.put(keys[1], Doc(10))  # replacing a slot gives its bytes back
    assert local.nbytes == 50
    assert local.get(scorecard_cache.Key(slot="s2", digest="other")) is None  # another digest: not this one
    stale = scorecard_cache._Local(10, ttl=-1)
    stale.put(keys[0], Doc(1))
    assert stale.get(keys[0]) is None and stale.nbytes == 0  # older than the shared cache keeps entries


def test_migration_0002_still_fills_the_rollup_before_the_revisions_table_exists(world):
    """0002 runs today's rebuild(); the revisions' table only comes with 0003 (found by review)."""
    fill_rollup = importlib.import_module("scoring.migrations.0002_score_rollup").fill_rollup
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the rows' deferred foreign-key checks would forbid the drop
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP TABLE {TeamScoreRevision._meta.db_table}")
    fill_rollup(apps, SimpleNamespace(connection=connection))
    assert TeamRollup.objects.exists()


def _concurrently(*calls):
    import threading

    results, errors = [None] * len(calls), []

    def run(i, call):
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors, errors
    return results


def test_after_a_change_one_request_builds_the_document_and_the_others_wait_for_it(monkeypatch):
    """Single flight (scorecard_cache.remember): at 20,000 projects a build costs ~0.5 s of CPU, and every
    officer opening the dashboard after a verdict used to build it again."""
    import threading
    import time
    import uuid

    monkeypatch.setattr(scorecard_cache, "local", scorecard_cache._Local(16))
    key = scorecard_cache.Key(slot=f"mlsec:scorecard:test:{uuid.uuid4().hex}", digest="d1")
    builds, started = [], threading.Event()

    def build():
        builds.append(1)
        started.set()
        time.sleep(0.3)
        return key, {"document": "built once"}

    def second():
        started.wait(5)
        scorecard_cache.local = scorecard_cache._Local(16)  # another process: nothing of its own
        return scorecard_cache.remember(key, build)

    slot_reads = []
    shared = scorecard_cache.cache

    class Counting:  # each thread has its own cache object: count at the module's name for it
        def __getattr__(self, name):
            return getattr(shared, name)

        def get(self, name, *args, **kwargs):
            if name == key.slot:
                slot_reads.append(name)
            return shared.get(name, *args, **kwargs)
    monkeypatch.setattr(scorecard_cache, "cache", Counting())
    first, waited = _concurrently(lambda: scorecard_cache.remember(key, build), second)
    assert first == waited == {"document": "built once"} and len(builds) == 1
    assert len(slot_reads) <= 3  # each request's first look, and the waiter's one read once it was built


def test_a_waiter_builds_itself_when_the_builder_stored_other_inputs_or_failed(monkeypatch):
    import threading
    import time
    import uuid

    monkeypatch.setattr(scorecard_cache, "local", scorecard_cache._Local(16))
    slot = f"mlsec:scorecard:test:{uuid.uuid4().hex}"
    asked, newer = scorecard_cache.Key(slot=slot, digest="d1"), scorecard_cache.Key(slot=slot, digest="d2")
    started = threading.Event()

    def builder_sees_newer_inputs():
        started.set()
        time.sleep(0.2)
        return newer, "newer document"

    def late():
        started.wait(5)
        return scorecard_cache.remember(asked, lambda: (asked, "its own document"))

    begun = time.monotonic()
    results = _concurrently(lambda: scorecard_cache.remember(asked, builder_sees_newer_inputs), late)
    assert results == ["newer document", "its own document"]
    assert time.monotonic() - begun < scorecard_cache.BUILD_WAIT_S  # it did not wait out the whole budget

    failing = scorecard_cache.Key(slot=f"{slot}-f", digest="d1")
    started.clear()

    def crashes():
        started.set()
        time.sleep(0.2)
        raise RuntimeError("build failed")

    def after_crash():
        started.wait(5)
        return scorecard_cache.remember(failing, lambda: (failing, "rebuilt"))

    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(pytest.raises(RuntimeError, scorecard_cache.remember,
                                                                          failing, crashes)))
    thread.start()
    assert after_crash() == "rebuilt"
    thread.join(5)
    assert outcome  # the builder's error reached its own request only
