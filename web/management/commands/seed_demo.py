import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from assessments.models import Project
from checks.advisories import import_advisories
from checks.services import queue_runs
from controls.models import Practice
from mlsec_portal.dbmaint import refresh_planner_statistics
from scoring import rollup
from web.demo import DEMO_ADVISORIES, DEMO_PASSWORD, DemoBuilder, snapshot_history

LARGE_PROJECTS = 2000


class Command(BaseCommand):
    help = "Seed a believable demo organisation (or a large one for benchmarks: --teams 200 --projects 2000)."

    def add_arguments(self, parser):
        parser.add_argument("--teams", type=int, help="number of teams (default: the six demo teams)")
        parser.add_argument("--projects", type=int, help="number of projects in all (default: the demo's)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (the same seed gives the same data)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when teams already exist")
        parser.add_argument("--checks", choices=["queue", "none"], default=None,
                            help="write check targets and queue every check (default: yes up to 60 projects)")
        parser.add_argument("--history-days", type=int, default=None,
                            help="days of score history to compute (default 90; 7 above 2,000 projects, where each "
                                 "day is a full recomputation of the organisation)")

    def handle(self, *args, teams, projects, seed, if_empty, history_days, checks, **options):
        if teams is not None and teams < 1 or projects is not None and projects < 1:
            raise CommandError("--teams and --projects must be positive")
        if Team.objects.exists():
            if if_empty:
                self.stdout.write("demo data already present: nothing seeded")
                return
            raise CommandError("the database already has teams; seed an empty database (or pass --if-empty)")
        if not Practice.objects.exists():
            call_command("load_catalog", stdout=self.stdout)
        started = time.monotonic()
        with_checks = checks == "queue" if checks else (projects or 18) <= 60
        with rollup.deferred():  # bulk inserts send no signals: the scorecard's rollup is built once at the end
            result = DemoBuilder(teams=teams, projects=projects, seed=seed).build(with_targets=with_checks)
            refresh_planner_statistics()  # before the rollup's one set-based statement, not after
        self.stdout.write(
            f"seeded {result.teams} teams, {result.projects} projects, {result.assessments} assessments, "
            f"{result.answers} answers in {time.monotonic() - started:.1f}s"
        )
        started = time.monotonic()
        if history_days is None:
            history_days = 90 if (projects or 0) <= LARGE_PROJECTS else 7
        days = snapshot_history(history_days)
        self.stdout.write(f"computed {days} days of score history in {time.monotonic() - started:.1f}s")
        if with_checks:
            import_advisories(str(DEMO_ADVISORIES))
            queued = sum(len(queue_runs(project=p, record_skips=False)) for p in Project.objects.active())
            self.stdout.write(f"imported the demo advisories (fictional) and queued {queued} check runs: "
                              "the Celery worker runs them as soon as it starts")
        self.stdout.write(f"demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role in result.users:
            self.stdout.write(f"  {username:<10} {role}")
