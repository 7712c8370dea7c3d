"""``source-secrets``: credentials committed to the source tree (detect-secrets).

Uses detect-secrets' Python API with every built-in plugin and the default
filters (so ``# pragma: allowlist secret`` works for deliberate fixtures).
VCS metadata, virtualenvs, ``node_modules``, caches, binary files (a NUL
byte in the first 8 KiB) and files over 2 MB are skipped.

What is stored is deliberately poor: file (relative to the source path), line
number and secret *type*.  Never the secret, never the line, and never
detect-secrets' ``hashed_secret`` (an unsalted SHA-1 that brute-forces easily
for short or structured tokens).  Any secret → failed.

detect-secrets keeps its plugin settings in process-global state; this check
is meant for process-based workers (Celery prefork), not for threads.
"""

from __future__ import annotations

from collections import Counter

from .base import CheckContext, CheckResult, Finding, combine_status, plural
from .common import SourceTreeCheck
from .paths import PathPolicy, walk_files

MAX_FILE_BYTES = 2 * 1024 * 1024


def is_binary(path: str) -> bool:
    with open(path, "rb") as handle:
        return b"\0" in handle.read(8192)


class SourceSecretsCheck(SourceTreeCheck):
    key = "source-secrets"
    title = "Secrets in source code"
    practices = ("MLS-13", "MLS-01")
    default_schedule = "35 2 * * *"
    time_limit_s = 300
    description = (
        "Scans the project's source tree with detect-secrets (all built-in plugins) for committed credentials "
        "such as cloud keys, tokens and private keys. Any detected secret fails the check; findings name the "
        "file, line and kind of secret, never the secret itself."
    )

    def run_tree(self, ctx: CheckContext, policy: PathPolicy, root: str) -> CheckResult:
        from detect_secrets import SecretsCollection
        from detect_secrets.settings import default_settings

        findings: list[Finding] = []
        hits: set[tuple[str, int, str]] = set()
        undecided = False
        scanned = skipped_binary = unreadable = 0
        with default_settings():
            for rel, real, issue in walk_files(policy, root, prune=True, max_size=MAX_FILE_BYTES):
                if issue is not None:
                    findings.append(issue)
                    undecided = True
                    continue
                try:
                    if is_binary(real):
                        skipped_binary += 1
                        continue
                    collection = SecretsCollection()
                    collection.scan_file(real)
                except Exception as exc:  # noqa: BLE001 - one odd file must not hide the rest
                    unreadable += 1
                    findings.append(Finding("low", "file could not be scanned", type(exc).__name__, rel))
                    continue
                scanned += 1
                for secrets in collection.data.values():
                    for secret in secrets:
                        hits.add((rel, int(secret.line_number or 0), str(secret.type)))
        secret_findings = [
            Finding("high", f"possible secret: {kind}",
                    f"{kind} detected; the value is not stored. Rotate the credential and remove it from the "
                    "repository history.", f"{rel}:{line}")
            for rel, line, kind in sorted(hits)
        ]
        data = {
            "files_scanned": scanned,
            "skipped_binary": skipped_binary,
            "unreadable": unreadable,
            "secrets": len(hits),
            "by_type": dict(Counter(kind for _, _, kind in hits)),
            "files_with_secrets": len({rel for rel, _, _ in hits}),
        }
        if scanned == 0 and not hits and not undecided:
            return CheckResult("error", "no text file found to scan under the source path", findings, data)
        status = combine_status(bool(hits), undecided)
        if status == "failed":
            summary = (f"{plural(len(hits), 'possible secret')} in "
                       f"{plural(data['files_with_secrets'], 'file')} ({', '.join(sorted(data['by_type']))})")
        elif status == "error":
            summary = "some files could not be scanned safely; no secret found in the rest"
        else:
            summary = f"no secret found in {plural(scanned, 'file')}"
        return CheckResult(status, summary, secret_findings + findings, data)
