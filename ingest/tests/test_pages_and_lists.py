"""The project page and the token list cost the same queries for 1 and 20 rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ingest.models import IngestToken, PipelineFinding, ResultUpload

pytestmark = pytest.mark.django_db


def add_results(org, n):
    now = timezone.now()
    for i in range(n):
        item = ResultUpload.objects.create(project=org.project, format="sarif", origin="pipeline", storage_name="x",
                                           sha256="0" * 64, size=1, status="done", tool="semgrep",
                                           token=IngestToken.objects.first())
        PipelineFinding.objects.create(project=org.project, definition_id="source-static-analysis", tool="semgrep",
                                       fingerprint=f"{item.pk}-{i}", severity="high", title=f"issue {i}",
                                       first_upload=item, last_upload=item, first_seen_at=now, last_seen_at=now)


def add_tokens(org, n):
    from ingest.tokens import ingest_token_create

    for i in range(n):
        ingest_token_create(actor=org.officer, project=org.project, name=f"t{i}",
                            expires_on=timezone.now().date() + dt.timedelta(days=3))


def count(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_project_page_shows_pipeline_results_at_a_constant_query_count(org, client):
    add_tokens(org, 1)
    client.force_login(org.member)
    url = f"/projects/{org.project.pk}/"
    add_results(org, 1)
    count(client, url)  # warm the per-process caches (catalogue version, session)
    few = count(client, url)
    add_results(org, 19)
    assert count(client, url) == few
    body = client.get(url).content.decode()
    assert "issue 18" in body and "pipeline (t0)" in body


def test_the_token_list_costs_the_same_for_1_and_20_tokens(org, api):
    client = api(org.officer)
    url = f"/api/v1/projects/{org.project.pk}/ingest-tokens/"
    add_tokens(org, 1)
    few = count(client, url)
    add_tokens(org, 19)
    assert count(client, url) == few


def test_the_openapi_schema_describes_the_ingest_endpoints_and_their_token():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    for path, method in (("/api/v1/projects/{id}/results/", "post"), ("/api/v1/results/{id}/", "get"),
                         ("/api/v1/projects/{id}/gate/", "get")):
        assert {"ingestToken": []} in paths[path][method]["security"], path
    for path, method in (("/api/v1/projects/{id}/ingest-tokens/", "post"), ("/api/v1/projects/", "get")):
        assert {"ingestToken": []} not in paths[path][method].get("security", []), path
    body = paths["/api/v1/projects/{id}/results/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert body["schema"]["$ref"].endswith("/ResultsUploadRequest")
    assert schema["components"]["schemas"]["ResultReportFormatEnum"]["enum"][:2] == ["sarif", "cyclonedx"]
