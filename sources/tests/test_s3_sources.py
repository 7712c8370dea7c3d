"""Done when 2 and 4: a project with an `s3` source on a real S3 API (moto, SigV4 checked)."""

import json
import logging
import socket

import pytest

from audit.models import AuditEvent
from sources import services as source_services
from sources.tests.conftest import malicious_pickle, run_now, safetensors_bytes
from tests.servers.s3_server import read_only_policy


def s3_source(project, actor, server, bucket, prefix="models/", credential=None, name="models"):
    reader = credential or server.create_user(read_only_policy(bucket))
    return source_services.source_create(
        actor=actor, project=project, kind="s3", name=name,
        config={"endpoint_url": server.endpoint_url, "bucket": bucket, "prefix": prefix, "region": server.region},
        credential={"access_key_id": reader.access_key_id, "secret_access_key": reader.secret_access_key})


def test_a_malicious_pickle_fails_and_safetensors_passes(org, workspaces, s3_server):
    bucket = s3_server.create_bucket(versioned=True)
    evil = bucket.put("models/evil.pkl", malicious_pickle())
    bucket.put("clean/weights.safetensors", safetensors_bytes())
    s3_source(org.project, org.lead, s3_server, bucket.name, "models/")
    run = run_now(org.project, "model-serialization")
    assert run.status == "failed", run.summary
    assert any(f["ref"] == f"s3://{bucket.name}/models/evil.pkl" for f in run.findings)
    assert run.revision == {"objects": [{"key": "models/evil.pkl", "version_id": evil, "etag": run.revision[
        "objects"][0]["etag"]}]}
    assert list(workspaces.iterdir()) == []
    s3_source(org.other_project, org.other_lead, s3_server, bucket.name, "clean/")
    run = run_now(org.other_project, "model-serialization")
    assert run.status == "passed", run.summary
    assert run.revision["objects"][0]["key"] == "clean/weights.safetensors"
    assert list(workspaces.iterdir()) == []


def test_replacing_an_object_fails_integrity_naming_the_key_and_both_version_ids(org, workspaces, s3_server):
    bucket = s3_server.create_bucket(versioned=True)
    first = bucket.put("models/weights.safetensors", safetensors_bytes(b"\x01" * 16))
    s3_source(org.project, org.lead, s3_server, bucket.name)
    run = run_now(org.project, "model-integrity")
    assert run.status == "passed" and "baseline recorded" in run.summary
    assert list(workspaces.iterdir()) == []
    second = bucket.put("models/weights.safetensors", safetensors_bytes(b"\x02" * 16))
    run = run_now(org.project, "model-integrity")
    assert run.status == "failed", run.summary
    (changed,) = [f for f in run.findings if f["title"].startswith("artifact changed")]
    assert changed["ref"] == f"s3://{bucket.name}/models/weights.safetensors"
    assert first in changed["detail"] and second in changed["detail"] and first != second
    assert run.revision["objects"][0]["version_id"] == second
    assert list(workspaces.iterdir()) == []


def test_a_first_integrity_run_never_approves_what_serialization_fails(org, workspaces, s3_server):
    bucket = s3_server.create_bucket(versioned=True)
    bucket.put("models/evil.pkl", malicious_pickle())
    s3_source(org.project, org.lead, s3_server, bucket.name)
    assert run_now(org.project, "model-serialization").status == "failed"
    run = run_now(org.project, "model-integrity")
    assert run.status == "error" and "baseline not recorded" in run.summary
    from checks.models import ArtifactBaseline

    assert not ArtifactBaseline.objects.filter(project=org.project).exists()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("problem", ["wrong secret", "unknown key", "missing bucket", "unreachable host"])
def test_a_broken_source_ends_the_run_as_error_naming_it_and_never_echoes_the_secret(
        problem, org, workspaces, s3_server, api, caplog, django_capture_on_commit_callbacks):
    bucket = s3_server.create_bucket(versioned=True)
    bucket.put("models/weights.safetensors", safetensors_bytes())
    reader = s3_server.create_user(read_only_policy(bucket.name))
    caplog.set_level(logging.DEBUG)  # from here on: what the portal logs (botocore's debug lines included)
    caplog.clear()
    secret = "wrongSecret" + "Zq7" * 10 if problem == "wrong secret" else reader.secret_access_key  # pragma: allowlist secret
    key_id = "AKIA" + "NOSUCHKEY0000000" if problem == "unknown key" else reader.access_key_id
    config = {"endpoint_url": s3_server.endpoint_url, "bucket": bucket.name, "prefix": "models/",
              "region": s3_server.region}
    if problem == "missing bucket":
        config["bucket"] = "no-such-bucket-here"
    if problem == "unreachable host":
        config["endpoint_url"] = f"http://127.0.0.1:{_closed_port()}"
    client = api(org.lead)
    created = client.post(f"/api/v1/projects/{org.project.pk}/sources/", {
        "kind": "s3", "name": "broken", **config,
        "credential": {"access_key_id": key_id, "secret_access_key": secret}}, format="json")
    assert created.status_code == 201, created.content
    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(f"/api/v1/projects/{org.project.pk}/run-checks/", {"checks": ["model-serialization"]},
                             format="json")
    assert queued.status_code == 202
    run = client.get(f"/api/v1/check-runs/{queued.json()['check_runs'][0]['id']}/").json()
    assert run["status"] == "error", run
    assert "s3 source 'broken'" in run["summary"]
    tested = client.post(f"/api/v1/projects/{org.project.pk}/sources/{created.json()['id']}/test/")
    assert tested.status_code == 200 and tested.json()["ok"] is False and "'broken'" in tested.json()["detail"]
    listed = client.get(f"/api/v1/projects/{org.project.pk}/sources/")
    everything = json.dumps([created.json(), run, tested.json(), listed.json(),
                             list(AuditEvent.objects.values("changes", "object_repr"))]) + caplog.text
    assert secret not in everything
    assert "secret_access_key" not in json.dumps(listed.json())
    assert list(workspaces.iterdir()) == []


def test_a_prefix_beyond_the_size_or_count_limits_is_an_error_before_anything_is_downloaded(
        org, workspaces, s3_server, settings):
    bucket = s3_server.create_bucket(versioned=True)
    bucket.put("models/a.safetensors", safetensors_bytes(b"\x00" * 4096))
    bucket.put("models/b.safetensors", safetensors_bytes())
    s3_source(org.project, org.lead, s3_server, bucket.name)
    settings.MLSEC_SOURCE_MAX_FILES = 1
    run = run_now(org.project, "model-serialization")
    assert run.status == "error" and "more than 1 objects" in run.summary and "'models'" in run.summary
    settings.MLSEC_SOURCE_MAX_FILES, settings.MLSEC_SOURCE_MAX_MB = 100, 0
    run = run_now(org.project, "model-serialization")
    assert run.status == "error" and "MB" in run.summary
    assert list(workspaces.iterdir()) == []


def test_a_dns_answer_that_changes_after_the_guard_never_reaches_the_refused_address(org, workspaces, settings,
                                                                                   s3_server, rebinding_dns):
    from urllib.parse import urlsplit

    from sources.models import Source

    settings.MLSEC_CHECK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # 127.0.0.2 is refused
    bucket = s3_server.create_bucket(versioned=True)
    bucket.put("models/weights.safetensors", safetensors_bytes())
    source = s3_source(org.project, org.lead, s3_server, bucket.name)
    port = urlsplit(s3_server.endpoint_url).port
    Source.objects.filter(pk=source.pk).update(config={**source.config, "endpoint_url": f"http://s3.rebind.test:{port}"})
    run = run_now(org.project, "model-serialization")
    assert rebinding_dns["answers"] >= 2  # the guard's answer, then the connection's own
    assert rebinding_dns["trapped"] == 0, "boto3 resolved the name again and connected to a refused address"
    assert run.status == "error" and "models" in run.summary, run.summary
    assert list(workspaces.iterdir()) == []
