"""`make bench-checks`: how many check runs two Celery workers finish on a seeded organisation.

Flushes a DEDICATED benchmark database, seeds an organisation whose projects carry real check
targets (the demo's careful and careless profiles), starts N worker processes on the configured
broker, queues every check on every project, and measures until all runs have finished.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections import defaultdict

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from assessments.models import Project
from checks.choices import ACTIVE_STATUSES
from checks.models import CheckRun
from checks.services import queue_runs
from checks.worker_processes import start_workers, stop_workers


class Command(BaseCommand):
    help = "Measure check throughput of N Celery workers on a seeded organisation (flushes the bench database)."

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=60)
        parser.add_argument("--workers", type=int, default=2, help="worker processes (concurrency 1 each)")
        parser.add_argument("--timeout", type=int, default=1800)

    def handle(self, *args, projects, workers, timeout, **options):
        name = str(settings.DATABASES["default"]["NAME"])
        if "bench" not in name:
            raise CommandError(f"refusing to flush '{name}': point DATABASE_URL at a database whose name contains 'bench'")
        call_command("flush", interactive=False, verbosity=0)
        call_command("load_catalog", stdout=open(os.devnull, "w"))  # noqa: SIM115
        call_command("seed_demo", teams=max(2, projects // 10), projects=projects, history_days=1, checks="queue",
                     stdout=open(os.devnull, "w"))  # noqa: SIM115 - seed_demo queues every check on every project
        CheckRun.objects.filter(status__in=ACTIVE_STATUSES).delete()  # queued while no worker listened: start clean
        procs = start_workers(workers, "bench")
        try:
            time.sleep(8)  # let the workers connect
            started = time.monotonic()
            runs = [run for project in Project.objects.all() for run in queue_runs(project=project, record_skips=False)]
            ids = [r.pk for r in runs]
            while CheckRun.objects.filter(pk__in=ids, status__in=ACTIVE_STATUSES).exists():
                if time.monotonic() - started > timeout:
                    raise CommandError("timed out waiting for the runs")
                time.sleep(1)
            elapsed = time.monotonic() - started
        finally:
            stop_workers(procs)
        durations = defaultdict(list)
        statuses = defaultdict(int)
        for run in CheckRun.objects.filter(pk__in=ids):
            durations[run.definition_id].append((run.finished_at - run.started_at).total_seconds())
            statuses[run.status] += 1
        self.stdout.write(f"machine: {platform.machine()}, {os.cpu_count()} cores; broker: "
                          f"{settings.CELERY_BROKER_URL.split(':')[0]}; database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
        self.stdout.write(f"{len(ids)} runs on {Project.objects.count()} projects by {workers} workers in {elapsed:.1f} s: "
                          f"{len(ids) / elapsed * 60:.0f} runs/minute; statuses {dict(statuses)}")
        self.stdout.write("check | runs | median s | max s")
        for key in sorted(durations):
            values = durations[key]
            self.stdout.write(f"{key} | {len(values)} | {statistics.median(values):.2f} | {max(values):.2f}")
