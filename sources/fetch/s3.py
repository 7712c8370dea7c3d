"""S3 sources through boto3: list the objects under the prefix, download each (size and count
limits), record every key with its version id (versioned buckets) and ETag."""

from __future__ import annotations

import os

from ..crypto import unseal
from . import FetchedFile, FetchError, Limits, Materialised, failure, guard_host, guarded_connection

CHUNK = 1024 * 1024
WORDS = {
    "NoSuchBucket": "the bucket does not exist",
    "InvalidAccessKeyId": "the access key id is not known to the server",
    "SignatureDoesNotMatch": "the secret access key is wrong",
    "AccessDenied": "the credential may not read this bucket",
    "403": "the credential may not read this bucket",
    "404": "the bucket or object does not exist",
}


def _client(source, limits: Limits):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    endpoint = source.config.get("endpoint_url") or None
    region = source.config.get("region") or "us-east-1"
    guard_host(source, endpoint or f"https://s3.{region}.amazonaws.com", limits, 443)
    credential = unseal(source.credential_encrypted)
    config = Config(s3={"addressing_style": "path"}, connect_timeout=min(limits.timeout_s, 10),
                    read_timeout=limits.timeout_s, retries={"max_attempts": 1, "mode": "standard"},
                    signature_version=None if credential else UNSIGNED)
    client = boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=region, config=config,
        aws_access_key_id=credential.get("access_key_id"), aws_secret_access_key=credential.get("secret_access_key"))
    _guard_connections(client, limits)
    return client


def _guard_connections(client, limits: Limits) -> None:
    """Every connection boto3 opens resolves and vets its host when it connects (no DNS rebinding
    between the guard above and the download). botocore keeps its pool classes on the client's HTTP
    session; tests/…/test_s3_sources.py fails if a botocore upgrade moves them."""
    session = client._endpoint.http_session
    pools = {}
    for scheme, pool in session._pool_classes_by_scheme.items():
        pools[scheme] = type(f"Guarded{pool.__name__}", (pool,),
                             {"ConnectionCls": guarded_connection(pool.ConnectionCls, limits.allowed_networks)})
    session._pool_classes_by_scheme = pools
    session._manager.pool_classes_by_scheme = pools


def _error(source, what: str, exc: Exception) -> FetchError:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", "")) if hasattr(exc, "response") else ""
    if code in WORDS:
        return FetchError(f"{what[0].upper()}{what[1:]} ({source.describe()}): {WORDS[code]}.")
    if type(exc).__name__ in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError",
                              "ConnectionClosedError"):
        return FetchError(f"{what[0].upper()}{what[1:]} ({source.describe()}): the S3 endpoint did not answer.")
    return failure(source, what, exc)


def _list(source, client, limits: Limits) -> list[dict]:
    bucket, prefix = source.config.get("bucket", ""), source.config.get("prefix", "")
    objects: list[dict] = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents") or []:
                if item["Key"].endswith("/"):
                    continue
                objects.append(item)
                if len(objects) > limits.max_files:
                    raise FetchError(f"{source.describe()} holds more than {limits.max_files} objects under its "
                                     "prefix, the limit of a check run; narrow the prefix.")
    except FetchError:
        raise
    except Exception as exc:  # noqa: BLE001 - botocore's ClientError and connection errors
        raise _error(source, "the bucket could not be listed", exc) from None
    total = sum(int(o.get("Size") or 0) for o in objects)
    if total > limits.max_bytes:
        raise FetchError(f"{source.describe()} holds {total // (1024 * 1024)} MB under its prefix, more than the "
                         f"{limits.max_bytes // (1024 * 1024)} MB a check run downloads; narrow the prefix.")
    return objects


def _safe_relative(key: str, prefix: str) -> str | None:
    rel = key[len(prefix):].lstrip("/") if key.startswith(prefix) else key
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None  # a key such as a/../../x would write outside the workspace
    return "/".join(parts)


def fetch(source, workspace: str, limits: Limits) -> Materialised:
    client = _client(source, limits)
    bucket, prefix = source.config.get("bucket", ""), source.config.get("prefix", "")
    root = os.path.join(workspace, "objects")
    os.makedirs(root)
    files, pins, written = [], [], 0
    for item in _list(source, client, limits):
        rel = _safe_relative(item["Key"], prefix)
        if rel is None:
            continue
        try:
            answer = client.get_object(Bucket=bucket, Key=item["Key"])
        except Exception as exc:  # noqa: BLE001
            raise _error(source, f"the object {item['Key']} could not be read", exc) from None
        target = os.path.join(root, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            for chunk in answer["Body"].iter_chunks(CHUNK):
                written += len(chunk)
                if written > limits.max_bytes:
                    raise FetchError(f"{source.describe()} exceeded the {limits.max_bytes // (1024 * 1024)} MB "
                                     "a check run downloads.")
                handle.write(chunk)
        version = answer.get("VersionId")
        pin = {"key": item["Key"], "version_id": None if version in (None, "null") else version,
               "etag": str(answer.get("ETag") or "").strip('"')}
        pins.append(pin)
        files.append(FetchedFile(rel, f"s3://{bucket}/{item['Key']}", int(answer.get("ContentLength") or 0), pin))
    if not files:
        raise FetchError(f"{source.describe()} holds no object under the prefix '{prefix}'.")
    return Materialised(source, root, {"objects": pins}, files, prefixes=[(f"s3://{bucket}/{prefix}", "")])


def probe(source, limits: Limits) -> str:
    client = _client(source, limits)
    objects = _list(source, client, limits)
    return f"The bucket answered; {len(objects)} object(s) under the prefix."
