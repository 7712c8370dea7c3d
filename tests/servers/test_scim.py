"""The SCIM compliance runner drives the real `scim2-tester` against a real SCIM server (the reference
server of scim2-server, standing in for the portal's endpoint until it exists) and reads its verdicts."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest

from tests.servers.process import ServerProcess, isolated_env, port_of_process
from tests.servers.scim import parse_report, run_scim2_tester


@pytest.fixture(scope="module")
def reference_scim_server(tmp_path_factory):
    token = secrets.token_urlsafe(24)
    log = tmp_path_factory.mktemp("scim") / "scim2-server.log"
    server = ServerProcess("scim2-server", [str(Path(sys.executable).parent / "scim2-server"), "--hostname",
                                            "127.0.0.1", "--port", "0", "--bearer-token", token],
                           log_path=log, env=isolated_env())
    port = server.start(ready=port_of_process, timeout=30)
    yield f"http://127.0.0.1:{port}/", token
    server.stop()


@pytest.mark.slow
def test_the_compliance_check_passes_on_a_conformant_server_with_the_right_token(reference_scim_server):
    url, token = reference_scim_server

    report = run_scim2_tester(url, token)

    assert report.passed, report.output[-3000:]
    titles = {r.title for r in report.results}
    assert {"service_provider_config_endpoint", "query_all_resource_types", "object_creation",
            "object_deletion"} <= titles
    assert len(report.results) > 50


def test_a_wrong_token_fails_the_compliance_check_with_the_servers_refusal(reference_scim_server):
    url, _ = reference_scim_server

    report = run_scim2_tester(url, "not-the-token")

    assert not report.passed and report.exit_code == 1
    assert "Authorization failure" in report.error


def test_any_status_but_success_counts_as_a_failure():
    report = parse_report("Performing a SCIM compliance check on http://x/ ...\n"
                          "SUCCESS object_creation\n  Successfully created User\n"
                          "DEVIATION object_query\n  returned 200 without a Location header\n", 1)

    assert [(r.status, r.title) for r in report.results] == [("SUCCESS", "object_creation"),
                                                               ("DEVIATION", "object_query")]
    assert report.failures[0].details == ["returned 200 without a Location header"]
    assert not report.passed
