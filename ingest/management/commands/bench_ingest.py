"""`make bench-ingest`: time and memory of a large SARIF upload, in the request and on the worker.

Flushes a DEDICATED benchmark database (its name must contain "bench"), makes one team and project,
writes SARIF logs of each size asked for, POSTs each through the API (what a pipeline waits for),
then processes it as the worker does, measuring the Python heap peak (tracemalloc) and the growth
of the process's peak RSS. Run it once per size for clean RSS figures (`--results 10000`).
"""

from __future__ import annotations

import os
import platform
import resource
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client

from accounts.models import User
from assessments.models import Project

from ...bench import write_sarif
from ...models import PipelineFinding, ResultUpload
from ...services import results_process  # noqa: E402


def rss_mb() -> float:
    """The process's resident set now (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler(threading.Thread):
    """Samples the RSS every 20 ms while the worker's function runs; `peak` is the highest seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self._halt = rss_mb(), threading.Event()

    def run(self):
        while not self._halt.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> float:
        self._halt.set()
        self.join()
        return self.peak


class Command(BaseCommand):
    help = "Measure a large SARIF upload: request time, worker time and memory (flushes the bench database)."

    def add_arguments(self, parser):
        parser.add_argument("--results", type=int, nargs="+", default=[10_000])

    def handle(self, *args, results, **options):
        name = str(settings.DATABASES["default"]["NAME"])
        if "bench" not in name:
            raise CommandError(f"refusing to flush '{name}': point DATABASE_URL at a database whose name contains 'bench'")
        call_command("flush", interactive=False, verbosity=0)
        call_command("load_catalog", stdout=open(os.devnull, "w"))  # noqa: SIM115
        from accounts.models import Team
        from checks.services import sync_check_definitions

        sync_check_definitions()
        team = Team.objects.create(slug="bench", name="Bench")
        project = Project.objects.create(team=team, name="Bench", slug="bench")
        officer = User.objects.create(username="bench-officer", org_role="officer")
        client = Client()
        client.force_login(officer)
        # The request queues the upload; here the worker's function is called in this process instead
        # of a Celery worker, so its time and memory can be measured.
        from ... import services

        services._enqueue = lambda upload_id: None
        self.stdout.write(f"{platform.python_implementation()} {platform.python_version()}, {connection.vendor}, "
                          f"{os.cpu_count()} cores")
        with tempfile.TemporaryDirectory() as tmp:
            for count in results:
                self._one(client, project, Path(tmp) / f"bench-{count}.sarif", count)

    def _one(self, client, project, path: Path, count: int) -> None:
        size = write_sarif(path, count)
        with open(path, "rb") as fh:
            started = time.perf_counter()
            response = client.post(f"/api/v1/projects/{project.pk}/results/", {"file": fh, "format": "sarif",
                                                                                 "branch": f"b{count}"})
            request_s = time.perf_counter() - started
        assert response.status_code == 202, response.content
        upload_id = response.json()["id"]
        rss_before = rss_mb()
        sampler = RssSampler()
        sampler.start()
        tracemalloc.start()
        started = time.perf_counter()
        item = results_process(upload_id)
        worker_s = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_peak = sampler.stop()
        assert item.status == "done", item.detail
        findings = PipelineFinding.objects.filter(last_upload_id=upload_id).count()
        self.stdout.write(
            f"{count:>6} results, {size / 1e6:5.1f} MB: request {request_s:5.2f} s (202), worker {worker_s:5.1f} s, "
            f"heap peak {peak / 1e6:5.1f} MB, RSS {rss_before:4.0f} → peak {rss_peak:4.0f} MB, {findings} findings, "
            f"{ResultUpload.objects.get(pk=upload_id).findings_new} new")
