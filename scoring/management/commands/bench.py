"""`make bench`: how the scorecard API, the dashboard and the framework views scale, against the raw SQL aggregate.

Seeds organisations of increasing size into a DEDICATED benchmark database (it flushes it), then
measures in-process server time (the whole Django stack, as the test client drives it, asking for gzip as
every HTTP client does) and queries.
"""

from __future__ import annotations

import os
import platform
import statistics
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Team, User
from assessments.models import Answer, Project
from scoring import cache as scorecard_cache
from scoring import rollup
from scoring.engine import score_inputs

RAW_AGGREGATE = """
SELECT p.team_id, a.practice_id, AVG(a.level)
FROM assessments_answer a
JOIN assessments_assessment s ON s.id = a.assessment_id
JOIN assessments_project p ON p.id = s.project_id
WHERE s.status = 'approved' AND a.level IS NOT NULL
GROUP BY p.team_id, a.practice_id
"""


# The framework views (frameworks app): readiness of a framework with every requirement's weakest
# projects, the EU AI Act (grouped by role x risk class), a framework page and the index of all seven.
FRAMEWORK_VIEWS = ("/api/v1/frameworks/nist-ai-rmf/readiness/", "/api/v1/frameworks/eu-ai-act/readiness/",
                   "/frameworks/nist-ai-rmf/", "/frameworks/")
HEATMAP = "/dashboard/heatmap.json"  # the dashboard's heatmap, which the page fetches (static/js/charts.js)


def round_robin_ms(functions: dict, repeat: int) -> dict[str, float]:
    """Median milliseconds of each function, calling them in turn `repeat` times."""
    for fn in functions.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


class Command(BaseCommand):
    help = "Benchmark the scorecard API and the dashboard at 1x, 10x and 100x (flushes the bench database)."

    def add_arguments(self, parser):
        parser.add_argument("--sizes", default="20:200,200:2000,2000:20000",
                            help="teams:projects pairs (default 1x, 10x and 100x: 20:200,200:2000,2000:20000)")
        parser.add_argument("--repeat", type=int, default=15)
        parser.add_argument("--history-days", type=int, default=90,
                            help="days of snapshots to seed (at most 7 above 2,000 projects: the pages read 90 rows "
                                 "of organisation history whatever the size, and 90 days of 2,000 teams take long)")
        parser.add_argument("--no-seed", action="store_true",
                            help="measure the organisation already in the bench database (one size, not flushed)")
        parser.add_argument("--pages-only", action="store_true",
                            help="the scorecard, the dashboard, its heatmap and the raw aggregate only (no recomputation, "
                                 "framework views, cold requests or reconciliation): short runs to alternate between "
                                 "two bench databases, so that a virtual machine's changing speed hits both alike")

    def handle(self, *args, sizes, repeat, history_days, no_seed, pages_only, **options):
        name = str(settings.DATABASES["default"]["NAME"])
        if "bench" not in name:
            raise CommandError(f"refusing to flush '{name}': point DATABASE_URL at a database whose name contains 'bench'")
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        self.stdout.write(f"cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]} (cleared for the cold columns)")
        self.stdout.write(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
                          f"{platform.python_version()}, {connection.vendor} ({name.rsplit('/', 1)[-1]})")
        rows = []
        for pair in sizes.split(","):
            teams, projects = (int(x) for x in pair.split(":"))
            rows.append(self.measure(teams, projects, repeat, history_days, seed=not no_seed, pages_only=pages_only))
            if no_seed:
                break
        header = ("teams", "projects", "answers", "seed s", "scorecard q", "scorecard ms", "dashboard q", "dashboard ms",
                  "heatmap q", "heatmap ms", "raw SQL ms", "recompute ms", "scorecard/raw", "dashboard/raw", "scorecard cold ms", "dashboard cold ms",
                  "reconcile differences")
        self.stdout.write(" | ".join(header))
        for row, _frameworks in rows:
            self.stdout.write(" | ".join(str(v) for v in row))
        if len(rows) > 1:
            first, last = rows[0][0], rows[-1][0]
            self.stdout.write(f"growth {first[1]} -> {last[1]} projects: scorecard "
                              f"{float(last[5]) / float(first[5]):.2f}x, dashboard {float(last[7]) / float(first[7]):.2f}x, "
                              f"heatmap {float(last[9]) / float(first[9]):.2f}x, "
                              f"raw aggregate {float(last[10]) / float(first[10]):.2f}x")
        self.stdout.write("framework views (ratio to the scorecard API at the same size):")
        self.stdout.write(" | ".join(("projects", "view", "queries", "ms", "/ scorecard")))
        for row, frameworks in rows:
            for view, queries, ms, ratio in frameworks:
                self.stdout.write(" | ".join(str(v) for v in (row[1], view, queries, ms, ratio)))

    def measure(self, teams: int, projects: int, repeat: int, history_days: int, *, seed: bool = True,
                pages_only: bool = False):
        started = time.perf_counter()
        if seed:
            call_command("flush", interactive=False, verbosity=0)
            call_command("load_catalog", stdout=open(os.devnull, "w"))  # noqa: SIM115
            call_command("seed_demo", teams=teams, projects=projects,
                         history_days=history_days if projects <= 2000 else min(history_days, 7),
                         stdout=open(os.devnull, "w"))  # noqa: SIM115
        else:
            teams, projects = Team.objects.count(), Project.objects.count()
        seed_s = time.perf_counter() - started
        differences = "-" if pages_only else len(rollup.differences())
        client = Client()
        client.force_login(User.objects.get(username="officer"))

        def get(url):  # as every HTTP client asks (browsers, requests, curl --compressed)
            response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
            assert response.status_code == 200, (url, response.status_code)

        def count(url):
            with CaptureQueriesContext(connection) as ctx:
                get(url)
            return len(ctx.captured_queries)

        def raw():
            with connection.cursor() as cursor:
                cursor.execute(RAW_AGGREGATE)
                cursor.fetchall()

        def recompute():  # what the scorecard computed per request before the rollup (the reference)
            score_inputs(moment=timezone.now())

        for url in ("/api/v1/scorecard/", "/dashboard/", HEATMAP, *FRAMEWORK_VIEWS):
            get(url)  # warm per-process caches (the catalogue version) before counting
        scorecard_q, dashboard_q, heatmap_q = count("/api/v1/scorecard/"), count("/dashboard/"), count(HEATMAP)
        reset_queries()
        def cold(url):  # as the first request after a change: the document is assembled and remembered again
            scorecard_cache.forget()  # the shared cache and this process's copies
            get(url)

        # Round-robin within each phase, so that load from other processes on a shared machine hits every
        # measurement of a phase alike and the ratios stay fair; the median of each is reported. The pages
        # first and on their own: the heavy statements (a second of recomputation at 20,000 projects) would
        # otherwise leave the caches of the CPU and of PostgreSQL to the next page request of every round.
        times = round_robin_ms({"scorecard": lambda: get("/api/v1/scorecard/"), "dashboard": lambda: get("/dashboard/"),
                                "heatmap": lambda: get(HEATMAP)}, repeat)
        times |= round_robin_ms({"raw": raw}, repeat)
        frameworks = []
        if not pages_only:
            times |= round_robin_ms({"recompute": recompute, **{url: (lambda url=url: get(url)) for url in FRAMEWORK_VIEWS}},
                                    repeat)
            # Apart, so that clearing the cache never turns a warm measurement above into a cold one.
            times |= round_robin_ms({"scorecard cold": lambda: cold("/api/v1/scorecard/"),
                                     "dashboard cold": lambda: cold("/dashboard/")}, repeat)
            frameworks = [(url, count(url), f"{times[url]:.1f}", f"{times[url] / times['scorecard']:.2f}")
                          for url in FRAMEWORK_VIEWS]
        scorecard_ms, dashboard_ms, raw_ms = times["scorecard"], times["dashboard"], times["raw"]

        def ms(name):
            return f"{times[name]:.1f}" if name in times else "-"

        return (teams, projects, Answer.objects.count(), f"{seed_s:.0f}", scorecard_q, f"{scorecard_ms:.1f}", dashboard_q,
                f"{dashboard_ms:.1f}", heatmap_q, ms("heatmap"), f"{raw_ms:.1f}", ms("recompute"),
                f"{scorecard_ms / raw_ms:.2f}", f"{dashboard_ms / raw_ms:.2f}", ms("scorecard cold"), ms("dashboard cold"),
                differences), frameworks
