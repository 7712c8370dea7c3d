"""The demo, exported as an auditor would: seeded by `seed_demo` itself, every check it queues run to
its verdict, then the organisation PDF and signed ZIP for today and for 30 days back, asked for
through the API and built by the report task. Each must be `ready`, and the ZIP must verify with
scripts/verify_bundle.py against the fingerprint shown on the settings page.

The demo's own project ("MLSec Portal") holds a check run with dozens of findings: the organisation
PDF, and so the ZIP, used to fail on it with ReportLab's LayoutError.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from checks.models import CheckRun
from reports.models import Report

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def closed_port() -> int:
    """A port nothing listens on: the demo's endpoint checks get a quick refusal, not the network."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo(db, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.VAR_DIR = tmp_path
    settings.MLSEC_CHECK_ROOTS = [str(tmp_path), str(settings.BASE_DIR)]
    settings.MLSEC_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    with django_capture_on_commit_callbacks(execute=True):  # the queued checks run, as the demo's worker runs them
        call_command("seed_demo", history_days=31, stdout=io.StringIO())
    assert CheckRun.objects.exists() and not CheckRun.objects.filter(status__in=("queued", "running")).exists()
    return User.objects.get(username="auditor")


def test_the_demo_organisation_pdf_and_zip_for_today_and_30_days_back_are_ready_and_the_zip_verifies(
        demo, api, client, tmp_path, django_capture_on_commit_callbacks):
    # (The demo's longest finding list is short since each team's checks read only its own directory;
    # reports/tests/test_pdf_layout.py renders a run of 1,000 findings.)
    auditor = api(demo)
    month_ago = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    reports = {}
    for as_of in (None, month_ago):
        for fmt in ("pdf", "zip"):
            with django_capture_on_commit_callbacks(execute=True):
                response = auditor.post("/api/v1/reports/", {"scope": "org", "format": fmt, "as_of": as_of}, format="json")
            assert response.status_code == 202, response.json()
            reports[(as_of, fmt)] = auditor.get(f"/api/v1/reports/{response.json()['id']}/").json()
    assert {key: r["status"] for key, r in reports.items()} == {key: "ready" for key in reports}, [
        r["error"] for r in reports.values()]

    client.force_login(demo)
    fingerprint = re.search(r"SHA256:[0-9a-f]{64}", client.get("/settings/").content.decode()).group(0)
    for as_of in (None, month_ago):
        report = reports[(as_of, "zip")]
        bundle = tmp_path / f"demo-{as_of or 'today'}.zip"
        bundle.write_bytes(b"".join(auditor.get(report["download"]).streaming_content))
        result = subprocess.run([sys.executable, "-I", str(ROOT / "scripts" / "verify_bundle.py"), str(bundle),
                                 "--fingerprint", fingerprint, "--quiet"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip().splitlines()[-1].startswith("VERIFIED")
        with zipfile.ZipFile(bundle) as archive:
            assert archive.read("report.pdf").startswith(b"%PDF")
    assert Report.objects.filter(status="ready").count() == 4
