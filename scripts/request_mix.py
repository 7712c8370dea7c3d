"""CPU per task of the load test's request mix, in-process: this process's and PostgreSQL's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mlsec_loadtest DJANGO_DEBUG=0 MLSEC_REQUIRE_MFA=0 \\
      MLSEC_CACHE_URL=redis://127.0.0.1:6379/4 .venv/bin/python scripts/request_mix.py [TASKS] [ROUNDS]

Runs the tasks of `loadtest/locustfile.py` in its proportions (officers 2 : leads 3, each user's tasks by
their weights, the lead's draft save included) through Django's test client as the seeded `officer` and
`lead` (the organisation `make loadtest` seeds), and prints per task: this process's CPU time, the CPU time
of every PostgreSQL backend on the machine (from /proc: run it with nothing else using the database) and
the wall time. No HTTP server, no locust: a comparison between two builds or settings on one machine, where
the load test's latency is too noisy to show a few percent (docs/performance.md, 2026-12-04).
"""

from __future__ import annotations

import glob
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlsec_portal.settings.local")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402

LEVELS = re.compile(r'name="(MLS-\d\d-level)" value="(\d)" checked')


def postgres_cpu_s() -> float:
    """User + system CPU of every process named postgres (Linux /proc)."""
    ticks = 0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def client(username: str) -> Client:
    browser = Client(HTTP_ACCEPT_ENCODING="gzip")
    browser.force_login(User.objects.get(username=username))
    return browser


def main() -> None:
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    officer, lead = client("officer"), client("lead")
    own = lead.get("/api/v1/assessments/?page_size=50").json()["results"]
    assessments = [a["id"] for a in own]
    editable = [a["id"] for a in own if a["status"] in ("draft", "returned")]

    def get(browser, path):
        response = browser.get(path)
        assert response.status_code == 200, (path, response.status_code)

    def save_draft():
        pk = random.choice(editable)
        page = lead.get(f"/assessments/{pk}/").content.decode()
        response = lead.post(f"/assessments/{pk}/", {"save": "", **dict(LEVELS.findall(page))})
        assert response.status_code in (200, 302), response.status_code

    officer_tasks = (
        [lambda: (get(officer, "/dashboard/"), get(officer, "/dashboard/heatmap.json"))] * 4
        + [lambda: get(officer, "/api/v1/scorecard/")] * 3
        + [lambda: get(officer, "/teams/fraud-detection/")] * 2
        + [lambda: get(officer, "/review-queue/"),
           lambda: get(officer, "/api/v1/assessments/?status=submitted&page_size=50")])
    lead_tasks = (
        [lambda: get(lead, "/")] * 3
        + [lambda: get(lead, f"/assessments/{random.choice(assessments)}/")] * 3
        + ([save_draft] if editable else [])
        + [lambda: (get(lead, "/api/v1/scorecard/"), get(lead, "/api/v1/projects/"))] * 2)
    for task in officer_tasks + lead_tasks:  # warm: connections, caches, prepared statements
        task()
    random.seed(1)
    for _ in range(rounds):
        cpu, database, wall = time.process_time(), postgres_cpu_s(), time.perf_counter()
        for _ in range(tasks):
            random.choice(officer_tasks if random.random() < 0.4 else lead_tasks)()
        cpu, database, wall = (time.process_time() - cpu, postgres_cpu_s() - database, time.perf_counter() - wall)
        print(f"per task: python {cpu / tasks * 1000:.2f} ms, postgres {database / tasks * 1000:.2f} ms, "
              f"wall {wall / tasks * 1000:.2f} ms")


if __name__ == "__main__":
    main()
