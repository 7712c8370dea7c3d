"""scim2-tester (the SCIM compliance checker) against the portal's /scim/v2/ over HTTP."""

from __future__ import annotations

import secrets

import pytest

from identity.models import ScimToken
from identity.scim.app import application
from tests.servers.scim import run_scim2_tester


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_scim2_tester_passes_against_the_portal(live_server, tmp_path):
    application()  # built once per process (schemas → models, seconds on a busy machine), before the tester's time-outs
    key = secrets.token_urlsafe(32)
    ScimToken.objects.create(name="compliance", digest=ScimToken.digest_of(key))
    report = run_scim2_tester(f"{live_server.url}/scim/v2/", key)
    (tmp_path / "scim2-tester-report.txt").write_text(report.output)
    print(report.output)
    assert report.error is None, report.output
    assert report.passed, "\n".join(f"{c.status} {c.title}: {c.details}" for c in report.failures)


@pytest.mark.django_db(transaction=True)
def test_scim2_tester_cannot_discover_the_portal_with_a_wrong_token(live_server):
    ScimToken.objects.create(name="real", digest=ScimToken.digest_of("the-real-one"))
    report = run_scim2_tester(f"{live_server.url}/scim/v2/", "not-the-token")
    assert not report.passed and "Authorization" in (report.error or report.output)
