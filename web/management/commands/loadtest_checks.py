"""`scripts/loadtest.sh`: check workers writing results while locust drives the pages.

Gives `--projects` projects of the seeded organisation real check targets once (the demo's careful
and careless profiles, and its fictional advisories), starts `--workers` Celery worker processes on the configured broker and,
for `--duration` seconds, queues every check of one project after another at `--rate` runs a minute
(0: as fast as the workers finish them, round after round). Every finished run goes through `finish_run`: its audit event, its findings, the
rollup refresh of its team. Prints what was written; exits non-zero when a run was lost or errored.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from assessments.models import Project
from checks.advisories import import_advisories
from checks.choices import ACTIVE_STATUSES
from checks.models import Advisory, CheckRun
from checks.services import queue_runs
from checks.worker_processes import CpuLimitUnavailable, start_workers, stop_workers
from web.demo import DEMO_ADVISORIES
from web.demo_targets import demo_root, write_targets


class Command(BaseCommand):
    help = "Run check workers against part of the load-test organisation for a while (scripts/loadtest.sh)."

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, default=60)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--duration", type=int, default=120, help="seconds of queueing")
        parser.add_argument("--rate", type=int, default=120,
                            help="runs queued a minute (0: as fast as the workers go; an organisation of 2,000 "
                                 "projects checked nightly averages 10)")
        parser.add_argument("--warm-up", type=int, default=8, help="seconds for the workers to connect")
        parser.add_argument("--niceness", type=int, default=10,
                            help="CPU priority of the workers (0: as the web's; on separate hosts they would not compete)")
        parser.add_argument("--cpu-share", type=float, default=0,
                            help="cap the workers together at this share of one core (a CPU cgroup; needs root)")

    def handle(self, *args, projects, workers, duration, warm_up, niceness, rate, cpu_share, **options):
        if demo_root() is None:
            raise CommandError("no check root is configured (MLSEC_CHECK_ROOTS): the checks would have nothing to read")
        chosen = list(Project.objects.active().select_related("team").order_by("pk")[:projects])
        without = [p for p in chosen if not p.check_targets]
        for index, project in enumerate(without):
            project.check_targets = write_targets(project.team.slug, project.slug, careless=index % 3 == 1)
        Project.objects.bulk_update(without, ["check_targets"], batch_size=500)
        if not Advisory.objects.exists():  # the dependency check decides nothing without advisories
            import_advisories(str(DEMO_ADVISORIES))
        CheckRun.objects.filter(status__in=ACTIVE_STATUSES).delete()  # left by an earlier, interrupted run
        try:
            procs = start_workers(workers, "loadtest", niceness=niceness, cpu_share=cpu_share)
        except CpuLimitUnavailable as exc:
            raise CommandError(f"--cpu-share {cpu_share}: {exc}") from exc
        ids, rounds = [], 0
        try:
            time.sleep(warm_up)
            started = time.monotonic()
            deadline = started + duration
            if rate:  # one project's checks at a time, spaced to keep the rate
                index = 0
                while time.monotonic() < deadline:
                    project = chosen[index % len(chosen)]
                    index += 1
                    rounds = index // len(chosen)
                    ids += [run.pk for run in queue_runs(project=project, record_skips=False)]
                    time.sleep(max(0.0, started + len(ids) * 60 / rate - time.monotonic()))
            else:
                while time.monotonic() < deadline:
                    batch = [run.pk for project in chosen for run in queue_runs(project=project, record_skips=False)]
                    ids += batch
                    rounds += 1
                    self._wait(batch, deadline + 300)
            self._wait(ids, time.monotonic() + 300)
            elapsed = time.monotonic() - started
        finally:
            stop_workers(procs)
        statuses = dict.fromkeys(("passed", "failed", "error", "skipped"), 0)
        for status in CheckRun.objects.filter(pk__in=ids).values_list("status", flat=True):
            statuses[status] = statuses.get(status, 0) + 1
        cap = f", at most {cpu_share:g} of a core" if cpu_share else ""
        self.stdout.write(f"check workers: {workers} (niceness {niceness}{cap}); {len(ids)} runs on {len(chosen)} projects in {rounds} rounds, "
                          f"{elapsed:.0f} s: {len(ids) / elapsed * 60:.0f} runs/minute (asked: {rate or 'as fast as they go'}); "
                          f"statuses {statuses}")
        if statuses["error"] or sum(statuses.values()) != len(ids):
            raise CommandError("a check run errored or did not finish")

    @staticmethod
    def _wait(ids, until: float) -> None:
        while CheckRun.objects.filter(pk__in=ids, status__in=ACTIVE_STATUSES).exists():
            if time.monotonic() > until:
                raise CommandError(f"{len(ids)} queued runs did not all finish in time")
            time.sleep(0.5)
