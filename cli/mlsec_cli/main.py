"""`mlsec scan | push | upload | gate`: exit 0 on success / pass, 1 on a failing gate or scan, 2 on errors."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

TIMEOUT_S = 60
EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


class PortalError(Exception):
    pass


def _env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise PortalError(f"{name} is not set")
    return value


def _session() -> tuple[requests.Session, str, str]:
    session = requests.Session()
    session.headers["User-Agent"] = "mlsec-cli/1.0"
    token, url = _env("MLSEC_TOKEN"), _env("MLSEC_URL").rstrip("/")
    # An ingest token (`mlsi_…`) or a CI identity token (an OIDC JWT from GitHub Actions / GitLab). The portal
    # accepts a JWT once: it is exchanged for an ingest key that every later command of the job reuses.
    if token.count(".") == 2 and not token.startswith("mlsi_"):
        token = _exchanged(session, url, token)
    session.headers["Authorization"] = f"Token {token}"
    return session, url, _env("MLSEC_PROJECT")


def _state_dir() -> Path:
    """Where the job keeps the exchanged key: the job's own temporary directory where the CI has one."""
    for name in ("MLSEC_STATE_DIR", "RUNNER_TEMP"):
        if os.environ.get(name):
            return Path(os.environ[name])
    return Path.home() / ".cache" / "mlsec"


def _exchanged(session: requests.Session, url: str, jwt: str) -> str:
    """The ingest key this CI identity token was exchanged for (exchanging it now on first use)."""
    path = _state_dir() / f"mlsec-key-{hashlib.sha256(jwt.encode()).hexdigest()[:32]}.json"
    try:
        kept = json.loads(path.read_text())
        if dt.datetime.fromisoformat(kept["expires_at"]) > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30):
            return kept["token"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    body = _answer(session.post(f"{url}/api/v1/ci-identity/exchange/", headers={"Authorization": f"Bearer {jwt}"},
                                timeout=TIMEOUT_S))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"token": body["token"], "expires_at": body["expires_at"]}, fh)
    return body["token"]


def _answer(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:300]}
    if response.status_code >= 400:
        raise PortalError(f"the portal answered {response.status_code}: {json.dumps(body)[:600]}")
    return body


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True, timeout=10).stdout.strip()  # noqa: S603, S607
    except (OSError, subprocess.SubprocessError):
        return ""


def default_commit() -> str:
    for name in ("MLSEC_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA"):
        if os.environ.get(name):
            return os.environ[name]
    return _git("rev-parse", "HEAD")


def default_branch() -> str:
    for name in ("MLSEC_BRANCH", "GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME"):
        if os.environ.get(name):
            return os.environ[name]
    return _git("rev-parse", "--abbrev-ref", "HEAD")


def default_build() -> str:
    return os.environ.get("MLSEC_BUILD_ID") or os.environ.get("GITHUB_RUN_ID") or os.environ.get("CI_PIPELINE_ID") or ""


def cmd_scan(args) -> int:
    from .scan import scan

    log, done = scan(Path(args.path))
    Path(args.output).write_text(json.dumps(log, indent=1))
    failed = False
    for key, result in done:
        print(f"{key}: {result.status} — {result.summary}")
        for finding in result.findings:
            print(f"  [{finding.severity}] {finding.title} {finding.ref}")
        failed |= result.status in ("failed", "error")
    print(f"wrote {args.output}")
    return EXIT_FAIL if failed and args.fail else EXIT_PASS


def cmd_upload(args) -> int:
    session, url, project = _session()
    fields = {"format": args.format, "commit": args.commit, "branch": args.branch, "build_id": args.build_id,
              "tool": args.tool or "", "source": args.source or "", "artifact": args.artifact or ""}
    with open(args.report, "rb") as fh:
        body = _answer(session.post(f"{url}/api/v1/projects/{project}/results/", data=fields,
                                    files={"file": (Path(args.report).name, fh)}, timeout=TIMEOUT_S))
    print(f"accepted as results/{body['id']}: {body['status']}")
    if not args.wait:
        return EXIT_PASS
    deadline = time.monotonic() + args.wait_timeout
    while True:
        status = _answer(session.get(body["status_url"], timeout=TIMEOUT_S))
        if status["status"] in ("done", "failed", "empty"):
            break
        if time.monotonic() > deadline:
            raise PortalError(f"still {status['status']} after {args.wait_timeout} s")
        time.sleep(1)
    print(f"{status['status']}: {status['findings_new']} new, {status['findings_closed']} closed finding(s); "
          f"check runs {status['check_runs']}{' — ' + status['detail'] if status['detail'] else ''}")
    # `empty`: the report scanned nothing (no run, no component, no file): a step to fix, not a clean result.
    return EXIT_PASS if status["status"] == "done" else EXIT_ERROR


def cmd_gate(args) -> int:
    session, url, project = _session()
    body = _answer(session.get(f"{url}/api/v1/projects/{project}/gate/", params={"commit": args.commit},
                               timeout=TIMEOUT_S))
    print(f"gate {body['verdict']} for {body['commit']}")
    for reason in body["reasons"]:
        print(f"  - {reason}")
    return EXIT_PASS if body["verdict"] == "pass" else EXIT_FAIL


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="mlsec", description=__doc__)
    sub = main.add_subparsers(dest="command", required=True)
    scan = sub.add_parser("scan", help="run the portal's checks on a working tree and write SARIF")
    scan.add_argument("path", nargs="?", default=".")
    scan.add_argument("-o", "--output", default="mlsec-scan.sarif")
    scan.add_argument("--fail", action="store_true", help="exit 1 when a check failed or could not decide")
    scan.set_defaults(func=cmd_scan)
    for name, report_default in (("push", "mlsec-scan.sarif"), ("upload", None)):
        command = sub.add_parser(name, help="upload the scan (push) or any report file (upload)")
        command.add_argument("report", nargs="?" if report_default else None, default=report_default)
        command.add_argument("--format", default="sarif")
        command.add_argument("--commit", default=default_commit())
        command.add_argument("--branch", default=default_branch())
        command.add_argument("--build-id", default=default_build())
        command.add_argument("--tool")
        command.add_argument("--source")
        command.add_argument("--artifact", help="the scanned file, for reports that do not name it (fickling)")
        command.add_argument("--no-wait", dest="wait", action="store_false")
        command.add_argument("--wait-timeout", type=int, default=600)
        command.set_defaults(func=cmd_upload)
    gate = sub.add_parser("gate", help="exit 0 when the portal's verdict on the commit is pass, else 1")
    gate.add_argument("--commit", default=default_commit())
    gate.set_defaults(func=cmd_gate)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (PortalError, requests.RequestException, OSError) as exc:
        print(f"mlsec: {exc}", file=sys.stderr)
        return EXIT_ERROR
