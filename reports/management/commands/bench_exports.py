"""Organisation exports at scale (issue 19, target 4): time and peak memory of each build.

`manage.py bench_exports` seeds a dedicated database (its name must contain `bench`) with
`seed_demo --teams 200 --projects 2000` unless it already holds that many projects, adds encrypted file
evidence (by default 200 files of 1 MiB and 4 of 24 MiB, the upload limit being 25 MB), then builds
the organisation PDF, OSCAL assessment results and ZIP bundle each in a fresh process, exactly as the
Celery worker does (`reports.services.report_build`: dataset, rendering, encrypted frames). Each child
reports the high-water mark of its own address space from the kernel (`VmHWM`, /proc/self/status), so the
figure is the worker's real peak, not an estimate. Not `wait4`'s `ru_maxrss`: Linux carries the
parent's resident size into a child when it executes the new program, so after the parent had seeded
the database every child reported the parent's 427 MB (2026-12-04). Exit status 1 when a build fails or
misses a target (under 60 s, under 500 MB).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

TARGET_SECONDS, TARGET_MB = 60, 500
FORMATS = ("pdf", "oscal", "zip")


class Command(BaseCommand):
    help = "Time and peak RSS of the organisation PDF, OSCAL and ZIP exports at 2,000 projects (a bench database)."

    def add_arguments(self, parser):
        parser.add_argument("--teams", type=int, default=200)
        parser.add_argument("--projects", type=int, default=2000)
        parser.add_argument("--small-files", type=int, default=200, help="1 MiB evidence files to add")
        parser.add_argument("--large-files", type=int, default=4, help="24 MiB evidence files to add")
        parser.add_argument("--formats", default=",".join(FORMATS))
        parser.add_argument("--child", help=argparse_suppress())

    def handle(self, *args, teams, projects, small_files, large_files, formats, child, **options):
        if child:
            return self.build_one(child)
        name = str(connection.settings_dict["NAME"])
        if "bench" not in os.path.basename(name):
            raise CommandError(f"bench_exports writes to its database; use one whose name contains 'bench' (not {name})")
        from assessments.models import Project

        if Project.objects.count() < projects:
            if Project.objects.exists():
                raise CommandError("the bench database holds a smaller organisation: flush it first")
            call_command("seed_demo", teams=teams, projects=projects, history_days=1, checks="none", stdout=self.stdout)
        added = self.add_evidence(small_files, large_files)
        self.stdout.write(f"{Project.objects.count():,} projects; {added} evidence files added")
        results, failed = [], False
        for fmt in [f.strip() for f in formats.split(",") if f.strip()]:
            result = self.measure(fmt)
            results.append(result)
            ok = result["status"] == "ready" and result["seconds"] < TARGET_SECONDS and result["peak_rss_mb"] < TARGET_MB
            failed |= not ok
            self.stdout.write(f"{fmt:>6}: {result['status']} in {result['seconds']:.1f} s ({result['cpu_seconds']:.1f} s "
                              f"of CPU), peak RSS "
                              f"{result['peak_rss_mb']:.0f} MB, {result['size'] / 1e6:.1f} MB written"
                              f"{'' if ok else '  <- target missed (60 s, 500 MB) or failed'}")
        self.stdout.write(json.dumps({"load_average": os.getloadavg()[0], "results": results}))
        if failed:
            sys.exit(1)

    def add_evidence(self, small: int, large: int) -> int:
        """File evidence spread over the organisation's projects (once: a second run adds none)."""
        from controls.models import Practice
        from evidence import storage
        from evidence.models import Evidence, EvidenceKind, EvidenceStatus

        if Evidence.objects.filter(title__startswith="Bench evidence").exists():
            return 0
        from assessments.models import Project

        project_ids = list(Project.objects.order_by("pk").values_list("pk", flat=True))
        practices = list(Practice.objects.order_by("code").values_list("pk", flat=True))
        block = os.urandom(1 << 20)
        rows = []
        for index in range(small + large):
            size = (24 << 20) if index < large else (1 << 20)
            data = b"PK\x03\x04" + (block * (size >> 20))[4:]  # typed as a ZIP archive, as uploads are
            data = data[:-8] + index.to_bytes(8, "big")  # each file different
            rows.append(Evidence(
                project_id=project_ids[index * 7 % len(project_ids)], practice_id=practices[index % len(practices)],
                kind=EvidenceKind.FILE, title=f"Bench evidence {index}", storage_name=storage.write(data),
                original_name=f"bench-{index}.zip", sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                content_type="application/zip", status=EvidenceStatus.ACCEPTED))
            del data
        Evidence.objects.bulk_create(rows)
        return len(rows)

    def measure(self, fmt: str) -> dict:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "manage.py", "bench_exports", "--child", fmt],  # noqa: S603
                                   stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        output = process.stdout.read()
        process.returncode = os.waitstatus_to_exitcode(status)
        try:
            child = json.loads(output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            child = {"status": f"crashed ({process.returncode})", "size": 0}
        peak_kb = child.pop("peak_kb", None) or usage.ru_maxrss  # ru_maxrss where there is no /proc (an upper bound)
        return {"format": fmt, **child, "seconds": round(seconds, 1), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
                "peak_rss_mb": round(peak_kb / 1024, 1)}

    def build_one(self, fmt: str) -> None:
        """In the child: queue the export as an officer and build it as the worker does."""
        from accounts.choices import OrgRole
        from accounts.models import User
        from reports import services
        from reports.models import Report

        officer = User.objects.filter(org_role=OrgRole.OFFICER, is_active=True).order_by("pk").first()
        if officer is None:
            raise CommandError("no officer in the bench database")
        report = Report.objects.create(requested_by=officer, scope="org", format=fmt)
        services.report_build(report.pk)
        report.refresh_from_db()
        self.stdout.write(json.dumps({"status": report.status, "size": report.size, "error": report.error[:200],
                                      "peak_kb": own_peak_kb()}))
        if report.storage_name:
            services.storage.remove(report.storage_name)
        report.delete()


def own_peak_kb() -> int | None:
    """This process's resident high-water mark since it started its program (kB), or None without /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS
