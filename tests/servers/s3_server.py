"""A real S3 HTTP API on 127.0.0.1: moto in server mode, in a process of its own, checking credentials.

At start the fixture creates an IAM user with full access and its access key, then switches moto's
request authentication on (`/moto-api/reset-auth`): from then on every request must be signed (SigV4)
by a known access key and be allowed by that user's policy, as on AWS. So a wrong secret gets
`SignatureDoesNotMatch`, an unknown key `InvalidAccessKeyId`, and `create_user(policy=READ_ONLY)` gives a
least-privilege key that can read but not write.

    s3_server.endpoint_url, s3_server.region, s3_server.access_key_id, s3_server.secret_access_key
    bucket = s3_server.create_bucket(versioned=True)      # a fresh, uniquely named bucket
    v1 = bucket.put("models/a.pkl", b"...")               # the object's version id
    bucket.get("models/a.pkl", version_id=v1)             # bytes
    s3_server.client()                                    # a boto3 S3 client with the admin key
"""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.servers.process import LOOPBACK, ServerProcess, isolated_env, port_from_log

REGION = "us-east-1"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def read_only_policy(bucket: str, prefix: str = "") -> dict:
    """What docs/checks.md will recommend granting the portal: list and read, nothing else."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketVersioning"],
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
         "Resource": f"arn:aws:s3:::{bucket}/{prefix}*"},
    ]}


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str


class S3Bucket:
    def __init__(self, server: S3Server, name: str):
        self.server = server
        self.name = name
        self.client = server.client()

    def put(self, key: str, body: bytes | str) -> str | None:
        """Upload an object; its version id (None when the bucket is not versioned)."""
        body = body.encode() if isinstance(body, str) else body
        response = self.client.put_object(Bucket=self.name, Key=key, Body=body)
        version = response.get("VersionId")
        return None if version in (None, "null") else version

    def get(self, key: str, version_id: str | None = None) -> bytes:
        extra = {"VersionId": version_id} if version_id else {}
        return self.client.get_object(Bucket=self.name, Key=key, **extra)["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.name, Key=key)

    def versions(self, key: str) -> list[str]:
        """Version ids of `key`, newest first."""
        response = self.client.list_object_versions(Bucket=self.name, Prefix=key)
        return [v["VersionId"] for v in response.get("Versions", []) if v["Key"] == key]

    def url(self, key: str = "") -> str:
        return f"s3://{self.name}/{key}"


class S3Server:
    def __init__(self, log_path: Path):
        self.log_path = Path(log_path)
        self.server: ServerProcess | None = None
        self.credentials: S3Credentials | None = None
        self.region = REGION

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def access_key_id(self) -> str:
        return self.credentials.access_key_id

    @property
    def secret_access_key(self) -> str:
        return self.credentials.secret_access_key

    def start(self) -> S3Server:
        argv = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", "0"]
        env = isolated_env({"MOTO_ALLOW_NONEXISTENT_REGION": "false", "AWS_DEFAULT_REGION": REGION,
                            "PYTHONUNBUFFERED": "1"})
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
        self.server = ServerProcess("moto S3 server", argv, log_path=self.log_path, env=env)
        self.server.start(ready=port_from_log(r"Running on http://127\.0\.0\.1:(\d+)"), timeout=30)
        # Still unauthenticated: the first user, then authentication for every later request.
        self.credentials = self._create_user("portal-tests-admin", ADMIN_POLICY, client=self._client(None))
        response = requests.post(f"{self.endpoint_url}/moto-api/reset-auth", data="0", timeout=10)
        response.raise_for_status()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    def server_logs(self) -> list[tuple[str, Path]]:
        return [("moto S3 server", self.log_path)]

    def _client(self, credentials: S3Credentials | None, service: str = "iam"):
        import boto3
        from botocore.config import Config

        credentials = credentials or S3Credentials("bootstrap", "bootstrap")
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name=self.region,
            aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                          connect_timeout=5, read_timeout=30),
        )

    def client(self, credentials: S3Credentials | None = None, service: str = "s3"):
        """A boto3 client for `service` ("s3", "iam"), with the admin key unless others are given."""
        return self._client(credentials or self.credentials, service)

    def _create_user(self, name: str, policy: dict, *, client) -> S3Credentials:
        client.create_user(UserName=name)
        client.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
        key = client.create_access_key(UserName=name)["AccessKey"]
        return S3Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    def create_user(self, policy: dict, name: str | None = None) -> S3Credentials:
        """An IAM user allowed by `policy` (e.g. `read_only_policy(bucket)`), and its access key."""
        return self._create_user(name or f"user-{uuid.uuid4().hex[:8]}", policy, client=self.client(service="iam"))

    def create_bucket(self, name: str | None = None, *, versioned: bool = True) -> S3Bucket:
        name = name or f"bucket-{uuid.uuid4().hex[:12]}"
        client = self.client()
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return S3Bucket(self, name)
