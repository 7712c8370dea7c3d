"""The S3 fixture is a real S3 HTTP API: versioned objects through boto3, and credentials that are checked."""

from __future__ import annotations

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.servers.s3_server import S3Credentials, read_only_policy


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_a_versioned_bucket_keeps_every_version_of_an_object(s3_server):
    bucket = s3_server.create_bucket(versioned=True)
    first = bucket.put("models/fraud.pkl", b"first")
    second = bucket.put("models/fraud.pkl", b"second")

    assert first and second and first != second
    assert bucket.get("models/fraud.pkl") == b"second"
    assert bucket.get("models/fraud.pkl", version_id=first) == b"first"
    assert bucket.versions("models/fraud.pkl") == [second, first]


def test_a_client_configured_like_the_portal_lists_and_downloads_with_the_fixture_credentials(s3_server):
    bucket = s3_server.create_bucket(versioned=False)
    assert bucket.put("data/train.csv", "a,b\n1,2\n") is None  # no version ids without versioning

    client = boto3.session.Session().client(
        "s3", endpoint_url=s3_server.endpoint_url, region_name=s3_server.region,
        aws_access_key_id=s3_server.access_key_id, aws_secret_access_key=s3_server.secret_access_key,
        config=Config(s3={"addressing_style": "path"}))
    listed = client.list_objects_v2(Bucket=bucket.name, Prefix="data/")

    assert [o["Key"] for o in listed["Contents"]] == ["data/train.csv"]
    assert client.get_object(Bucket=bucket.name, Key="data/train.csv")["Body"].read() == b"a,b\n1,2\n"
    assert s3_server.endpoint_url.startswith("http://127.0.0.1:")


def test_a_wrong_secret_an_unknown_key_and_no_signature_are_refused(s3_server):
    bucket = s3_server.create_bucket()
    bucket.put("a.bin", b"x")

    with pytest.raises(ClientError) as wrong:
        s3_server.client(S3Credentials(s3_server.access_key_id, "not-the-secret")).get_object(
            Bucket=bucket.name, Key="a.bin")
    with pytest.raises(ClientError) as unknown:
        s3_server.client(S3Credentials("AKIAUNKNOWN000000000", "x")).get_object(Bucket=bucket.name, Key="a.bin")  # pragma: allowlist secret
    anonymous = requests.get(f"{s3_server.endpoint_url}/{bucket.name}/a.bin", timeout=10)

    assert error_code(wrong) == "SignatureDoesNotMatch"
    assert error_code(unknown) == "InvalidAccessKeyId"
    assert anonymous.status_code == 403


def test_a_read_only_user_reads_but_cannot_write_or_read_another_bucket(s3_server):
    bucket, other = s3_server.create_bucket(), s3_server.create_bucket()
    version = bucket.put("models/a.pkl", b"model")
    other.put("secret.txt", b"other team")
    reader = s3_server.client(s3_server.create_user(read_only_policy(bucket.name)))

    assert reader.get_object(Bucket=bucket.name, Key="models/a.pkl", VersionId=version)["Body"].read() == b"model"
    assert reader.list_object_versions(Bucket=bucket.name)["Versions"][0]["VersionId"] == version
    with pytest.raises(ClientError) as write:
        reader.put_object(Bucket=bucket.name, Key="models/a.pkl", Body=b"replaced")
    with pytest.raises(ClientError) as elsewhere:
        reader.get_object(Bucket=other.name, Key="secret.txt")
    assert error_code(write) == "AccessDenied"
    assert error_code(elsewhere) == "AccessDenied"


def test_a_missing_bucket_is_no_such_bucket(s3_server):
    with pytest.raises(ClientError) as missing:
        s3_server.client().list_objects_v2(Bucket="no-such-bucket-here")
    assert error_code(missing) == "NoSuchBucket"
