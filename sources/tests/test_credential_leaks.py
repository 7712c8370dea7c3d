"""Done when 4: a source's secret appears in no response, log line, finding, export or audit event."""

import io
import json
import logging
import zipfile

from audit.models import AuditEvent
from checks.models import CheckRun
from reports.models import Report
from sources.tests.conftest import run_now
from tests.servers.s3_server import read_only_policy

TOKEN = "ghp_" + "Lk3vT9" * 6


def export(api, user, capture, **body) -> bytes:
    with capture(execute=True):
        response = api(user).post("/api/v1/reports/", body, format="json")
    assert response.status_code == 202, response.data
    report = Report.objects.get(pk=response.data["id"])
    assert report.status == "ready", report.error
    download = api(user).get(f"/api/v1/reports/{report.pk}/download/")
    data = b"".join(download.streaming_content)
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            data = b"".join(bundle.read(name) for name in bundle.namelist())
    return data


def test_the_secret_of_a_source_is_never_echoed_anywhere(org, api, workspaces, git_daemon, s3_server, caplog,
                                                          django_capture_on_commit_callbacks):
    bucket = s3_server.create_bucket(versioned=True)
    bucket.put("models/m.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    reader = s3_server.create_user(read_only_policy(bucket.name))
    repo = git_daemon.create_repo(None, {"app.py": "print('hi')\n"})
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    client = api(org.lead)
    base = f"/api/v1/projects/{org.project.pk}/sources/"
    answers = [client.post(base, {"kind": "git", "name": "repo", "url": repo.url, "credential": {"token": TOKEN}},
                           format="json"),
               client.post(base, {"kind": "s3", "name": "wrong", "endpoint_url": s3_server.endpoint_url,
                                  "bucket": bucket.name, "prefix": "models/", "region": s3_server.region,
                                  "credential": {"access_key_id": reader.access_key_id,
                                                 "secret_access_key": TOKEN}}, format="json")]
    assert [a.status_code for a in answers] == [201, 201]
    answers.append(client.patch(f"{base}{answers[0].json()['id']}/", {"credential": {"token": TOKEN + "2"}},
                                format="json"))
    for key in ("source-secrets", "model-serialization"):
        run_now(org.project, key)
    assert CheckRun.objects.get(definition_id="model-serialization").status == "error"
    answers += [client.post(f"{base}{answers[1].json()['id']}/test/"), client.get(base),
                client.get("/api/v1/check-runs/?page_size=500"), api(org.auditor).get("/api/v1/audit-events/")]
    exports = [export(api, org.officer, django_capture_on_commit_callbacks, scope="project", project=org.project.pk,
                      format=fmt) for fmt in ("json", "zip", "csv")]
    seen = "".join(json.dumps(a.json()) for a in answers if a.content) + caplog.text
    seen += json.dumps(list(CheckRun.objects.values("summary", "findings", "data", "revision")))
    seen += json.dumps(list(AuditEvent.objects.values("changes", "object_repr")))
    assert TOKEN not in seen
    assert not any(TOKEN.encode() in data for data in exports)
    assert "the secret access key is wrong" in seen  # the error is in words, without the value
