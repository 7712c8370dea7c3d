"""A real Celery worker process on the configured broker (Redis in CI, the embedded file-system
broker otherwise): checks queued through the API finish; a killed run is reaped as error; two
concurrent triggers produce one run."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from checks import services
from checks.models import CheckRun
from conftest import database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group(name="celery-worker")]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def celery_app():
    from mlsec_portal.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield app
    app.conf.task_always_eager = eager


def start_worker(tmp_path, queues: list[str]):
    """A real worker process; `queues` empty: started the way the README says, without -Q."""
    log = tmp_path / "worker.log"
    from django.conf import settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mlsec_portal.settings.test", "DATABASE_URL": database_url(),
           "MLSEC_TEST_BROKER_EXACT": settings.CELERY_BROKER_URL}
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    narrow = ["-Q", ",".join(queues)] if queues else []
    # Messages an earlier test of this process left on its broker (tasks queued for runs of a database
    # since flushed) would be worked through first and could hold this test's own past its deadline.
    subprocess.run([sys.executable, "-m", "celery", "-A", "mlsec_portal", "purge", "-f",
                    *(["-Q", ",".join(queues)] if queues else [])],
                   cwd=ROOT, env=env, capture_output=True, timeout=60, check=False)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mlsec_portal", "worker", *narrow,
             "--concurrency", "2", "-n", name, "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while b" ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the Celery worker did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.3)
    if settings.CELERY_BROKER_URL.startswith("redis"):
        # The worker consumes from this test process's own Redis database, not another process's.
        connected = re.search(rb"Connected to redis://\S*?(/\d+)\s", log.read_bytes())
        if connected is None or connected.group(1).decode() != "/" + settings.CELERY_BROKER_URL.rpartition("/")[2]:
            stop_worker(process)
            pytest.fail(f"the worker is not on {settings.CELERY_BROKER_URL}:\n" + log.read_text()[-3000:])
    process.log = log
    return process


def stop_worker(process) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def worker(celery_app, tmp_path):
    process = start_worker(tmp_path, ["checks", "heavy", "maintenance"])
    yield process
    stop_worker(process)


@pytest.fixture
def plain_worker(celery_app, tmp_path):
    process = start_worker(tmp_path, [])
    yield process
    stop_worker(process)


def wait_for(predicate, timeout=60.0, what="condition", log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    from mlsec_portal.celery import app

    tail = "\n".join(line for line in log.read_text().splitlines() if " INFO " in line or "ERROR" in line)[-6000:] if log is not None and log.exists() else ""
    runs = list(CheckRun.objects.values_list("pk", "definition_id", "status", "summary"))
    broker = os.environ.get("MLSEC_TEST_BROKER_DIR", "")
    pending = sorted(os.listdir(broker))[:10] if broker and os.path.isdir(broker) else "(redis)"
    pytest.fail(f"timed out waiting for {what}; eager={app.conf.task_always_eager} pid={os.getpid()} "
                f"runs={runs} broker={broker} pending={pending}\n--- worker log ---\n{tail}")


def test_checks_queued_through_the_api_finish_on_a_real_worker(org, api, worker, team_dir):
    tmp_path = team_dir(org.team)
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text("import subprocess\n\nsubprocess.call(input(), shell=True)\n")
    (tmp_path / "customers.csv").write_text("id,email\n1,j***@example.org\n2,k***@example.org\n")
    org.project.check_targets = {"source_path": str(source), "datasets": [str(tmp_path / "customers.csv")]}
    org.project.save()
    response = api(org.lead).post(f"/api/v1/projects/{org.project.pk}/run-checks/",
                                  {"checks": ["source-static-analysis", "dataset-sensitive-data"]}, format="json")
    assert response.status_code == 202
    # The real worker may already have claimed a run (on commit) before the response is serialised.
    assert {r["status"] for r in response.data["check_runs"]} <= {"queued", "running", "passed", "failed"}
    ids = [r["id"] for r in response.data["check_runs"]]
    finished = wait_for(lambda: all(CheckRun.objects.get(pk=i).finished_at for i in ids) and ids, what="the runs",
                        log=worker.log)
    runs = {r.definition_id: r for r in CheckRun.objects.filter(pk__in=finished)}
    assert runs["source-static-analysis"].status == "failed"
    assert runs["dataset-sensitive-data"].status == "passed"
    assert runs["source-static-analysis"].worker.startswith("celery") or runs["source-static-analysis"].worker
    detail = api(org.lead).get(f"/api/v1/check-runs/{runs['source-static-analysis'].pk}/").data
    assert detail["status"] == "failed" and detail["evidence"] and detail["findings"]


def test_a_run_killed_mid_way_is_reaped_as_error(org, api, worker):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections and never answers: the check blocks until its timeout
    port = silent.getsockname()[1]
    org.project.check_targets = {"endpoint_url": f"http://127.0.0.1:{port}/predict"}
    org.project.save()
    try:
        response = api(org.lead).post(f"/api/v1/projects/{org.project.pk}/run-checks/",
                                      {"checks": ["endpoint-authentication"]}, format="json")
        run_id = response.data["check_runs"][0]["id"]
        wait_for(lambda: CheckRun.objects.get(pk=run_id).status == "running", what="the run to start", log=worker.log)
        os.killpg(worker.pid, signal.SIGKILL)  # the worker dies mid-run
        worker.wait(10)
        run = CheckRun.objects.get(pk=run_id)
        assert run.status == "running"
        later = run.started_at + dt.timedelta(seconds=run.definition.timeout_s + services.REAP_GRACE_S + 1)
        assert services.reap_stale_runs(now=later) == 1
        run.refresh_from_db()
        assert run.status == "error" and "abandoned" in run.summary
    finally:
        silent.close()


def test_two_concurrent_triggers_produce_one_run(org, api, celery_app, team_dir):
    # Only the queueing is under test: the messages wait on the broker, no worker runs them.
    org.project.check_targets = {"source_path": str(team_dir(org.team))}
    org.project.save()
    barrier = threading.Barrier(2)
    answers = []

    def trigger():
        client = api(org.member)
        barrier.wait()
        answers.append(client.post(f"/api/v1/projects/{org.project.pk}/run-checks/",
                                   {"checks": ["source-secrets"]}, format="json"))
        connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status_code for r in answers] == [202, 202]
    assert len({r.data["check_runs"][0]["id"] for r in answers}) == 1
    assert CheckRun.objects.filter(project=org.project, definition_id="source-secrets").count() == 1


def test_the_app_declares_every_queue_so_a_plain_worker_consumes_them_all(celery_app):
    assert set(celery_app.amqp.queues) == {"checks", "heavy", "reports", "maintenance"}
    assert celery_app.conf.task_default_queue == "checks"


def test_a_worker_started_without_queues_builds_exports_and_runs_model_scans(org, api, plain_worker, team_dir):
    files = team_dir(org.team)
    header = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    (files / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\0\0\0\0")
    org.project.check_targets = {"model_artifacts": [str(files / "model.safetensors")]}
    org.project.save()
    from reports.models import Report

    report = api(org.officer).post("/api/v1/reports/", {"scope": "project", "project": org.project.pk,
                                                       "format": "json"}, format="json")
    assert report.status_code == 202, report.data
    runs = api(org.lead).post(f"/api/v1/projects/{org.project.pk}/run-checks/",
                              {"checks": ["model-serialization"]}, format="json").data["check_runs"]
    wait_for(lambda: Report.objects.get(pk=report.data["id"]).status in ("ready", "failed"),
             what="the export on the reports queue", log=plain_worker.log)
    assert Report.objects.get(pk=report.data["id"]).status == "ready"
    wait_for(lambda: CheckRun.objects.get(pk=runs[0]["id"]).finished_at, what="the scan on the heavy queue",
             log=plain_worker.log)
    assert CheckRun.objects.get(pk=runs[0]["id"]).status == "passed"
