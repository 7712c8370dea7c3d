"""Automated check runners (plain Python; the Django layer schedules and stores them).

``REGISTRY`` maps each check key to its class.  The Django layer adds the
DB-bound checks and any plug-in (``checks.registry``).  It is built on first use, not on import: a
sandboxed child (``sandbox.py``) imports this package to reach its one runner, and importing every
runner and its parsers took ~90 ms of the ~100 ms each child spent starting.
``run_check`` is the one entry point: it never lets an exception other than a
time limit (:class:`CheckTimedOut`) escape and never turns a crash into a pass.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Mapping

from . import sandbox
from .base import (
    AdvisorySource,
    BaseCheck,
    CheckContext,
    CheckResult,
    CheckTargets,
    CheckTimedOut,
    Finding,
    Severity,
    Status,
)

__all__ = [
    "REGISTRY",
    "AdvisorySource",
    "BaseCheck",
    "CheckContext",
    "CheckResult",
    "CheckTargets",
    "CheckTimedOut",
    "Finding",
    "Severity",
    "Status",
    "run_check",
    "scrub",
]

#: The runners, as module and class: imported when the registry is first asked for.
RUNNERS = (
    ("dependency_vulnerabilities", "DependencyVulnerabilityCheck"),
    ("model_serialization", "ModelSerializationCheck"),
    ("model_integrity", "ModelIntegrityCheck"),
    ("endpoint_transport", "EndpointTransportCheck"),
    ("endpoint_authentication", "EndpointAuthenticationCheck"),
    ("source_secrets", "SourceSecretsCheck"),
    ("source_static_analysis", "SourceStaticAnalysisCheck"),
    ("dataset_sensitive_data", "DatasetSensitiveDataCheck"),
)


def build_registry() -> dict[str, type[BaseCheck]]:
    """Every runner by its key (the same dict each time)."""
    built = globals().get("REGISTRY")
    if built is None:
        built = {}
        for module, name in RUNNERS:
            check_class = getattr(importlib.import_module(f"{__name__}.{module}"), name)
            built[check_class.key] = check_class
        globals()["REGISTRY"] = built
    return built


def __getattr__(name: str):
    if name == "REGISTRY":  # `from checks.runners import REGISTRY` and `runners.REGISTRY` build it
        return build_registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

log = logging.getLogger(__name__)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")
_QUERY = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s?#]*)[?#]\S*")
_ASSIGNMENT = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|authorization)(\s*[=:]\s*)\S+")
_TOKENISH = re.compile(r"(?=[A-Za-z0-9+/=_-]*\d)(?=[A-Za-z0-9+/=_-]*[A-Za-z])[A-Za-z0-9+/=_-]{24,}")


def scrub(text: str, limit: int = 300) -> str:
    """Remove what may be a secret from an exception message (URL credentials and
    query strings, ``password=…`` assignments, long token-like strings)."""
    text = _USERINFO.sub(r"\1", text)
    text = _QUERY.sub(r"\1", text)
    text = _ASSIGNMENT.sub(r"\1\2[redacted]", text)
    text = _TOKENISH.sub("[redacted]", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_check(key: str, ctx: CheckContext, registry: Mapping[str, type[BaseCheck]] | None = None) -> CheckResult:
    """Run one check; any exception becomes ``error``, never ``passed``, except a time limit.

    The worker's soft time limit interrupting the check (or the check raising it) leaves as
    :class:`CheckTimedOut`: the run, not the check, ran out of time, and its caller says which limit.

    A check whose targets do not apply is ``skipped`` ("no target"); that is
    the only way to get ``skipped``.  ``registry`` lets the Django layer pass
    its merged registry (these runners plus DB-bound checks such as
    ``evidence-freshness``); it defaults to :data:`REGISTRY`.  A class that
    declares ``sandbox`` limits runs in a limited child process
    (:mod:`checks.runners.sandbox`).  A crash is reported by exception type
    only: an exception's text can quote the file being parsed.
    """
    try:
        check_class = (build_registry() if registry is None else registry)[key]
    except KeyError:
        return CheckResult("error", f"unknown check '{scrub(str(key), 80)}'")
    try:
        check = check_class()
        if not check.applies(ctx.targets):
            return CheckResult("skipped", "no target configured for this check")
        if getattr(check_class, "sandbox", None) is not None and not sandbox.in_child():
            result = sandbox.run_check_sandboxed(check_class, ctx)
        else:
            result = check.run(ctx)
        if not isinstance(result, CheckResult) or result.status not in ("passed", "failed", "error"):
            return CheckResult("error", "check crashed: it returned an invalid result")
        if any(not isinstance(f, Finding) for f in result.findings):
            return CheckResult("error", "check crashed: it returned an invalid finding")
        return result
    except CheckTimedOut:
        raise
    except Exception as exc:  # noqa: BLE001 - a crash must never pass
        if _is_soft_time_limit(exc):  # the worker's time limit, not a crash of the check
            raise CheckTimedOut(f"check {key} reached the worker's soft time limit") from exc
        log.warning("check %s crashed: %s at %s", key, type(exc).__name__, _where(exc))
        return CheckResult("error", f"check crashed: {type(exc).__name__} (the details are in the worker log)")


def _is_soft_time_limit(exc: BaseException) -> bool:
    """Whether `exc` is Celery's soft time limit (imported here only: the runners also run without Celery)."""
    try:
        from billiard.exceptions import SoftTimeLimitExceeded  # what celery.exceptions re-exports
    except ImportError:  # pragma: no cover - the CLI's runners without Celery installed
        return False
    return isinstance(exc, SoftTimeLimitExceeded)


def _where(exc: BaseException) -> str:
    """Where an exception was raised (file:line), for the log: its message may quote file content."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
