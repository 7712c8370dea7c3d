"""MLflow sources over MLflow's REST API (2.0), every call through the network guard's pinned
connections: pick the model versions to check (alias, stage or latest), list their artifacts
through the tracking server's artifact proxy (`--serve-artifacts`) and download them with limits.
The revision is the model name, version, run id and artifact URI."""

from __future__ import annotations

import json
import os
from urllib.parse import quote, urlencode

from checks.runners import netguard

from ..crypto import unseal
from . import FetchedFile, FetchError, Limits, Materialised, failure, guard_host

MAX_PAGES = 100  # of 200 versions: the 10,000 a source follows

PROXY_SCHEME = "mlflow-artifacts:/"


def _get(source, limits: Limits, path: str, params: dict | None = None, *, max_body: int = 4 * 1024 * 1024,
         sink=None) -> bytes | int:
    """The answer's body; with a `sink` (a file), the body is streamed into it and its length returned."""
    base = source.config.get("tracking_uri", "").rstrip("/")
    guard_host(source, base, limits, 443 if base.startswith("https") else 80)
    url = f"{base}/{path}" + (f"?{urlencode(params)}" if params else "")
    credential = unseal(source.credential_encrypted)
    headers = {"Authorization": f"Bearer {credential['token']}"} if credential.get("token") else {}
    try:
        answer = netguard.request(url, "GET", allowed=limits.allowed_networks, timeout=limits.timeout_s,
                                  headers=headers, max_body=max_body + 1, sink=sink)
    except (netguard.GuardError, OSError, ValueError) as exc:
        raise failure(source, "the MLflow server could not be reached", exc) from None
    if answer.status in (401, 403):
        raise FetchError(f"The MLflow server refused the credential of {source.describe()} (HTTP {answer.status}).")
    if answer.status == 404:
        raise FetchError(f"The MLflow server of {source.describe()} has no {_what(path, params)}.")
    if answer.status != 200:
        raise FetchError(f"The MLflow server of {source.describe()} answered HTTP {answer.status} for "
                         f"{_what(path, params)}.")
    if max(len(answer.body), answer.streamed) > max_body:
        raise FetchError(f"The artifacts of {source.describe()} are larger than the "
                         f"{limits.max_bytes // (1024 * 1024)} MB a check run downloads.")
    return answer.streamed if sink is not None else answer.body


def _what(path: str, params: dict | None) -> str:
    if "alias" in path:
        return f"alias '{(params or {}).get('alias')}' on the model '{(params or {}).get('name')}'"
    if "mlflow-artifacts" in path:
        return "such artifact"
    return f"registered model '{(params or {}).get('name', '')}'".replace(" ''", "")


def _json(source, limits, path, params=None) -> dict:
    body = _get(source, limits, path, params)
    try:
        return json.loads(body or b"{}")
    except ValueError:
        raise FetchError(f"The server of {source.describe()} does not answer like an MLflow server.") from None


def versions(source, limits: Limits, name: str) -> list[dict]:
    """Every version of one registered model, oldest first (versions that are not numbers are left out)."""
    found, token, pages = [], None, 0
    while True:
        params = {"filter": f"name='{name}'", "max_results": 200}
        if token:
            params["page_token"] = token
        answer = _json(source, limits, "api/2.0/mlflow/model-versions/search", params)
        page = answer.get("model_versions") or []
        if not isinstance(page, list):
            raise FetchError(f"The tracking server of {source.describe()} answered with an unreadable version list.")
        found += [v for v in page if isinstance(v, dict) and _version_number(v) is not None]
        token = answer.get("next_page_token")
        pages += 1
        # A server that keeps handing out tokens with empty pages would hold the worker forever.
        if not token or not page or pages >= MAX_PAGES or len(found) > 10_000:
            break
    if not found:
        _json(source, limits, "api/2.0/mlflow/registered-models/get", {"name": name})  # 404: a sentence
    return sorted(found, key=lambda v: int(_version_number(v)))


def selected(source, limits: Limits, name: str) -> dict:
    """The version a check run looks at: the alias's, the stage's newest, or the newest."""
    alias, stage = source.config.get("alias"), source.config.get("stage")
    if alias:
        return _json(source, limits, "api/2.0/mlflow/registered-models/alias", {"name": name, "alias": alias}).get(
            "model_version") or {}
    candidates = versions(source, limits, name)
    if stage:
        candidates = [v for v in candidates if str(v.get("current_stage", "")).lower() == stage.lower()]
    if not candidates:
        raise FetchError(f"The model '{name}' of {source.describe()} has no version"
                         + (f" in the stage {stage}." if stage else "."))
    return candidates[-1]


def _artifact_path(source, limits, version: dict) -> str:
    uri = str(version.get("source") or "")
    if not uri.startswith(PROXY_SCHEME):
        uri = str(_json(source, limits, "api/2.0/mlflow/model-versions/get-download-uri",
                        {"name": version.get("name"), "version": version.get("version")}).get("artifact_uri") or "")
    if not uri.startswith(PROXY_SCHEME):
        raise FetchError(f"The artifacts of {source.describe()} are not served by its tracking server "
                         "(start it with --serve-artifacts).")
    return uri[len(PROXY_SCHEME):].strip("/")


def _list_files(source, limits, path: str, depth: int = 0) -> list[tuple[str, int]]:
    listed = _json(source, limits, "api/2.0/mlflow-artifacts/artifacts", {"path": path}).get("files") or []
    files = []
    for entry in listed:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise FetchError(f"The tracking server of {source.describe()} listed an artifact without a path.")
        child = f"{path}/{entry['path'].rsplit('/', 1)[-1]}"
        if entry.get("is_dir") and depth < 8:
            files += _list_files(source, limits, child, depth + 1)
        elif not entry.get("is_dir"):
            files.append((child, int(entry.get("file_size") or 0)))
        if len(files) > limits.max_files:
            raise FetchError(f"A model version of {source.describe()} has more than {limits.max_files} files.")
    return files


def fetch_version(source, version: dict, workspace: str, limits: Limits,
                  used: int = 0) -> tuple[list[FetchedFile], dict]:
    """Download one model version's artifacts under `workspace/<name>/<version>/`; `used` bytes of the
    run's budget (`limits.max_bytes`) are already spent by the versions fetched before it."""
    name, number = str(version.get("name")), _version_number(version)
    if number is None:
        raise FetchError(f"The tracking server of {source.describe()} named a model version that is not a number.")
    base = _artifact_path(source, limits, version)
    root = os.path.realpath(workspace)
    revision = {"model": name, "version": number, "run_id": version.get("run_id") or "",
                "artifact_uri": version.get("source") or ""}
    files, total = [], used
    for remote, size in _list_files(source, limits, base):
        rel_in_model = remote[len(base):].strip("/")
        parts = rel_in_model.split("/")
        if ".." in parts or not rel_in_model:
            continue
        if total + size > limits.max_bytes:  # the listing's sizes: refuse early what is declared too big
            raise FetchError(f"A model version of {source.describe()} is larger than the "
                             f"{limits.max_bytes // (1024 * 1024)} MB a check run downloads.")
        rel = f"{_safe(name)}/{number}/{rel_in_model}"
        target = os.path.realpath(os.path.join(workspace, rel))
        if os.path.commonpath([root, target]) != root:  # whatever the server named, never outside
            raise FetchError(f"The tracking server of {source.describe()} named a file outside its model version.")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # Streamed to disk, and counted by what arrives, not by what the listing declared: a server
        # that lists every file as 0 bytes still gets no more than the budget left for the run.
        with open(target, "wb") as handle:
            received = _get(source, limits, f"api/2.0/mlflow-artifacts/artifacts/{quote(remote)}",
                            max_body=limits.max_bytes - total, sink=handle)
        total += received
        files.append(FetchedFile(rel, f"mlflow:{name}/{number}/{rel_in_model}", received, revision))
    if not files:
        raise FetchError(f"The model '{name}' version {number} of {source.describe()} has no artifact files.")
    return files, revision


def _safe(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return "model" if safe.strip(".") == "" else safe  # never "", "." or ".."


def _version_number(version: dict) -> str | None:
    """MLflow numbers model versions 1, 2, 3 …: anything else from a server is refused (it names a folder)."""
    number = str(version.get("version") or "")
    return number if number.isdigit() and len(number) <= 12 else None


def fetch(source, workspace: str, limits: Limits) -> Materialised:
    root = os.path.join(workspace, "models")
    os.makedirs(root)
    files, revisions = [], []
    for name in source.config.get("models") or []:  # one budget for the run, not one per model
        got, revision = fetch_version(source, selected(source, limits, name), root, limits,
                                      used=sum(f.size for f in files))
        files += got
        revisions.append(revision)
    revision = revisions[0] if len(revisions) == 1 else {"models": revisions}
    prefixes = [(f"mlflow:{r['model']}/{r['version']}/", f"{_safe(r['model'])}/{r['version']}/") for r in revisions]
    return Materialised(source, root, revision, files, prefixes)


def probe(source, limits: Limits) -> str:
    parts = []
    for name in source.config.get("models") or []:
        found = versions(source, limits, name)
        parts.append(f"{name}: {len(found)} version(s)")
    return "The MLflow server answered; " + "; ".join(parts) + "."
