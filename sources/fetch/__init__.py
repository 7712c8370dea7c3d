"""Materialise a source into a run's workspace: fetch it at a pinned revision, with limits.

One function per kind (`git`, `s3`, `mlflow`); :func:`materialise` picks it, :func:`probe` tries
the connection only. Every failure is a :class:`FetchError` whose text is a sentence naming the
source and what went wrong, in words a lead understands, never a credential (exception texts
of the libraries are scrubbed: they can quote URLs with tokens).

Network access goes through the checks' guard (`checks.runners.netguard`): the host is resolved
and refused unless public or allowed by an administrator (`MLSEC_CHECK_ALLOWED_NETWORKS`), and
MLflow's REST calls are made over the guard's pinned connections.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from checks.runners import scrub
from checks.runners.base import CheckTargets
from checks.runners.netguard import GuardError, parse_networks, resolve_allowed


class FetchError(Exception):
    """A source could not be fetched; `str()` is the sentence for the run, the page and the API."""


@dataclass
class Limits:
    max_bytes: int
    max_files: int
    timeout_s: float
    allowed_networks: list = field(default_factory=list)
    total_s: float | None = None  # a whole exchange's budget where the client allows one (a connection test)

    @classmethod
    def from_settings(cls, timeout_s: float | None = None) -> Limits:
        return cls(max_bytes=settings.MLSEC_SOURCE_MAX_MB * 1024 * 1024, max_files=settings.MLSEC_SOURCE_MAX_FILES,
                   timeout_s=timeout_s or settings.MLSEC_SOURCE_TIMEOUT_S,
                   allowed_networks=parse_networks(settings.MLSEC_CHECK_ALLOWED_NETWORKS))


@dataclass
class FetchedFile:
    """One file of a materialised source: where it is in the workspace and what pins it."""

    path: str  # relative to the materialised root
    label: str  # what findings show: repo:src/a.py, s3://bucket/key, mlflow:model/3/file
    size: int = 0
    revision: dict = field(default_factory=dict)  # {"key", "version_id", "etag"} / {"model", "version", ...}


@dataclass
class Materialised:
    source: object
    root: str
    revision: dict
    files: list[FetchedFile] = field(default_factory=list)
    # (label prefix, local prefix): which labels belong to this source, and where they are locally
    prefixes: list[tuple[str, str]] = field(default_factory=list)

    def targets(self) -> CheckTargets:
        """What the runners read: the tree for the code checks, model and data files found in it."""
        from ..choices import DATASET_SUFFIXES, DEPENDENCY_NAMES, MODEL_SUFFIXES

        relative = [f.path for f in self.files] or list(_walk(self.root))
        return CheckTargets(
            source_path=self.root,
            dependency_files=[p for p in relative if os.path.basename(p) in DEPENDENCY_NAMES
                              or (os.path.basename(p).startswith("requirements") and p.endswith(".txt"))],
            model_artifacts=[p for p in relative if p.lower().endswith(MODEL_SUFFIXES)],
            datasets=[p for p in relative if p.lower().endswith(DATASET_SUFFIXES)],
        )


def _walk(root: str):
    from checks.runners.paths import SKIP_DIRS

    for current, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            yield os.path.relpath(os.path.join(current, name), root)


def guard_host(source, url: str, limits: Limits, default_port: int):
    """Refuse a host the checks may not reach (before anything is sent); the vetted `Resolved`
    addresses, which a caller that can should connect to instead of resolving the name again (a DNS
    answer that changes between the check and the connection must not reach a refused address)."""
    from ..validators import has_control_characters

    if has_control_characters(url):  # read differently by urlsplit and by the fetching library
        raise FetchError(f"The URL of {source.describe()} contains spaces or control characters.")
    parts = urlsplit(url)
    try:
        return resolve_allowed(parts.hostname or "", parts.port or default_port, limits.allowed_networks)
    except GuardError as exc:
        raise FetchError(f"Could not reach {source.describe()} at {parts.hostname}: {exc.public}.") from None
    except ValueError:
        raise FetchError(f"The URL of {source.describe()} is not valid.") from None


def guarded_connection(base, allowed, pinned=None):
    """A urllib3 connection class (`base`: urllib3's or botocore's) that never resolves its host on its
    own: it connects to the `pinned` addresses the guard vetted for that host, or resolves and vets the
    host itself at connect time. The Host header, SNI and certificate check keep the name. So a DNS
    answer that changes between the guard and the connection (rebinding) cannot reach a refused address."""

    class Guarded(base):
        def _new_conn(self):
            host = (self.host or "").lower().rstrip(".")
            if pinned is not None and host == pinned.host.lower().rstrip(".") and self.port == pinned.port:
                resolved = pinned
            else:
                resolved = resolve_allowed(host, self.port, allowed)
            self._dns_host = resolved.addresses[0][1]  # what urllib3 connects to; `host` stays the name
            return super()._new_conn()

    return Guarded


def failure(source, what: str, exc: BaseException | None = None) -> FetchError:
    """A FetchError naming the source; the library's message scrubbed of anything secret-looking."""
    from ..crypto import unseal

    text = f"{what[0].upper()}{what[1:]} ({source.describe()})"
    if exc is not None:
        detail = scrub(str(exc) or type(exc).__name__, 200)
        try:
            for value in unseal(source.credential_encrypted).values():
                if value and len(value) >= 4:
                    detail = detail.replace(value, "[redacted]")
        except ValueError:
            pass
        text += f": {detail}"
    return FetchError(text if text.endswith(".") else text + ".")


def materialise(source, workspace: str, limits: Limits) -> Materialised:
    """Fetch `source` into `workspace` (an empty directory) and say exactly which revision it is."""
    from . import git, mlflow, s3

    fetchers = {"git": git.fetch, "s3": s3.fetch, "mlflow": mlflow.fetch}
    if source.kind not in fetchers:
        raise FetchError(f"{source.describe()} is not fetched.")
    return fetchers[source.kind](source, workspace, limits)


class ProbeBusy(FetchError):
    """Too many connection tests are still running in this process: nothing was tried."""


#: Connection tests running at once in one process, and of one team's sources. Each is a thread the
#: request stops waiting for after its timeout; a server that trickles bytes keeps it running (a git://
#: test is cut at its total deadline; https, S3, MLflow and ssh only bound each read), so a flood of
#: clicks never piles up threads in a web process, and one team's stalling servers never take every slot.
MAX_PROBES, MAX_PROBES_PER_TEAM = 8, 2
_probes = threading.BoundedSemaphore(MAX_PROBES)
_team_probes: dict[int, int] = {}
_team_probes_lock = threading.Lock()


def _take_probe_slot(team_id: int) -> bool:
    with _team_probes_lock:
        if _team_probes.get(team_id, 0) >= MAX_PROBES_PER_TEAM or not _probes.acquire(blocking=False):
            return False
        _team_probes[team_id] = _team_probes.get(team_id, 0) + 1
        return True


def _give_probe_slot(team_id: int) -> None:
    with _team_probes_lock:
        left = _team_probes.get(team_id, 1) - 1
        if left > 0:
            _team_probes[team_id] = left
        else:
            _team_probes.pop(team_id, None)
        _probes.release()


def probe(source, timeout_s: float = 10) -> str:
    """Connect and list, nothing more; a sentence saying what was found (FetchError otherwise).

    The answer comes within `timeout_s` whatever the server does: the probe runs in a thread of its
    own and a server that keeps silent is reported as such. At most MAX_PROBES run at once in a
    process, MAX_PROBES_PER_TEAM of one team's sources (ProbeBusy otherwise).
    """
    if source.kind in ("path", "endpoint"):  # no hanging client here (the endpoint guard has its deadline)
        return _probe(source, timeout_s)
    team_id = source.project.team_id
    if not _take_probe_slot(team_id):
        raise ProbeBusy("Earlier connection tests are still waiting for their servers; try again later.")
    outcome: dict = {}

    def attempt() -> None:
        try:
            outcome["detail"] = _probe(source, timeout_s)
        except FetchError as exc:
            outcome["error"] = exc
        except Exception as exc:  # noqa: BLE001 - a crash is an answer in words too
            outcome["error"] = failure(source, "the connection test failed", exc)
        finally:
            _give_probe_slot(team_id)  # when the attempt ends, not when the caller stops waiting for it

    worker = threading.Thread(target=attempt, daemon=True, name=f"probe-source-{source.pk}")
    try:
        worker.start()
    except BaseException:
        _give_probe_slot(team_id)
        raise
    worker.join(timeout_s)
    if worker.is_alive():
        raise FetchError(f"{source.describe()[0].upper()}{source.describe()[1:]} did not answer within "
                         f"{timeout_s:g} s.")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["detail"]


def _probe(source, timeout_s: float) -> str:
    from . import git, mlflow, s3

    limits = Limits.from_settings(timeout_s)
    limits.total_s = timeout_s
    if source.kind == "path":
        from checks.confinement import PathRefused, team_path_resolve

        try:
            real = team_path_resolve(source.project.team, source.config.get("path") or "")
        except PathRefused as exc:
            raise FetchError(exc.messages[0]) from None
        if not os.path.isdir(real):
            raise FetchError(f"{source.config.get('path')} is not a directory on the check workers.")
        return "The directory exists in the team's check root."
    if source.kind == "endpoint":
        from checks.runners import netguard

        url = source.config.get("url", "")
        try:
            answer = netguard.request(url, "HEAD", allowed=limits.allowed_networks, timeout=timeout_s)
        except (GuardError, OSError, ValueError) as exc:
            raise failure(source, "the endpoint did not answer", exc) from None
        return f"The endpoint answered HTTP {answer.status}."
    return {"git": git.probe, "s3": s3.probe, "mlflow": mlflow.probe}[source.kind](source, limits)
