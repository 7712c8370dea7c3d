"""Interface shared by every automated check runner.

The runners are plain Python: the Django layer builds a :class:`CheckContext`
from a project's check targets, calls :func:`checks.runners.run_check` and
stores the :class:`CheckResult` as evidence.  Nothing here imports Django.

Status semantics (docs/checks.md, "Statuses"): ``error`` means *the check could not decide*
and is never counted as passed nor failed.  When several targets are checked,
:func:`combine_status` applies the precedence every runner uses: a known bad
result (failed) wins over an undecided one (error), which wins over passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Literal, Protocol, runtime_checkable

Status = Literal["passed", "failed", "error", "skipped"]
Severity = Literal["info", "low", "medium", "high", "critical"]

STATUSES: tuple[str, ...] = ("passed", "failed", "error", "skipped")
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class Finding:
    """One observation of a check.

    ``detail`` must never carry a secret or a personal-data value: runners
    describe *where* and *what kind*, never the value itself.
    """

    severity: Severity
    title: str
    detail: str = ""
    ref: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CheckResult:
    status: Status
    summary: str
    findings: list[Finding] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-serialisable form (what the Django layer stores)."""
        return {
            "status": self.status,
            "summary": self.summary,
            "findings": [f.as_dict() for f in self.findings],
            "data": self.data,
        }


@dataclass
class CheckTargets:
    source_path: str = ""
    dependency_files: list[str] = field(default_factory=list)
    model_artifacts: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    endpoint_url: str = ""


@runtime_checkable
class AdvisorySource(Protocol):
    """Where OSV advisories come from (the Django layer backs it with the DB)."""

    def for_package(self, normalized_name: str) -> list[dict]: ...

    def count(self) -> int: ...


@dataclass(frozen=True)
class ResourceLimits:
    """Caps on what one run may make a worker parse (a hostile file hits them, an honest one does not).

    ``memory_mb`` bounds the address space of a sandboxed runner's process
    (:mod:`checks.runners.sandbox`); the others bound the work done on one file and are
    reported as an ``error`` finding when exceeded ("cannot decide"), never as a pass.
    """

    memory_mb: int = 1536
    max_decompressed_bytes: int = 512 * 1024 * 1024  # one pickle stream / archive member
    max_pickle_opcodes: int = 10_000_000  # one pickle stream
    max_archive_members: int = 10_000


@dataclass
class CheckContext:
    """Everything a runner may use: its targets and the boundaries it must stay within.

    ``allowed_roots`` are the only directories it may read (a project's team directories);
    ``denied_paths`` are never read even inside them (the portal's own files);
    ``allowed_networks`` are the CIDRs it may connect to although they are not public.
    """

    targets: CheckTargets
    allowed_roots: list[str]
    advisories: AdvisorySource | None = None
    baseline: dict[str, str] | None = None
    ca_bundle: str | None = None
    now: datetime | None = None
    timeout_s: float = 10.0
    denied_paths: list[str] = field(default_factory=list)
    allowed_networks: list[str] = field(default_factory=list)
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    # model checks: the team's reviewed scan allowances {"pickle-global": {name: reason}, "onnx-domain": {...}}
    allowances: dict | None = None
    # model-integrity: the project's signing policy (checks.runners.signing.SigningPolicy) or None
    signing: object | None = None

    def clock(self) -> datetime:
        """The injected clock, or the real one (always timezone-aware UTC)."""
        now = self.now or datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        return now


def configured(target: str | Iterable[str]) -> bool:
    """Whether a check target (a path or URL, or a list of them) names anything: what ``applies`` asks."""
    if isinstance(target, str):
        return bool(target.strip())
    return any(item.strip() for item in target)


class BaseCheck:
    """A check class: metadata as class attributes, behaviour in ``run``.

    The target kinds' shared openings (``checks.runners.common``: ``SourceTreeCheck``, ``FileTargetsCheck``,
    ``EndpointCheck``) declare ``target`` and the source kinds for a check of that kind.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    practices: ClassVar[tuple[str, ...]]
    default_schedule: ClassVar[str]
    time_limit_s: ClassVar[int]
    heavy: ClassVar[bool] = False
    description: ClassVar[str]
    # When set, ``run_check`` executes ``run`` in a child process with these limits (it parses
    # untrusted files); see checks.runners.sandbox. None: runs in the worker process itself.
    sandbox: ClassVar[SandboxLimits | None] = None
    # The kinds of project source the check reads (sources.choices.SourceKind): a run fetches each
    # source of these kinds into a workspace and runs the check there (sources.runs).
    source_kinds: ClassVar[tuple[str, ...]] = ("path",)
    # What the Django layer puts in the context beyond targets and boundaries (checks.context):
    # "advisories", "allowances", "signing", "baseline".
    context_needs: ClassVar[frozenset[str]] = frozenset()
    # Its `data["artifacts"]` are the project's approved baseline: a first run records them, and an
    # approval hashes the artifacts with this check (checks.baselines, checks.services).
    records_baseline: ClassVar[bool] = False
    # Django-layer hooks, named by dotted path so that the runner stays plain Python (resolved by
    # checks.registry.hook): `after_run(project, result) -> CheckResult` adjusts a worker's result
    # before it is stored; `finish_hook(run, result)` runs in the transaction that stores the verdict.
    after_run: ClassVar[str] = ""
    finish_hook: ClassVar[str] = ""
    # The field of CheckTargets the check reads ("source_path", "dependency_files", "model_artifacts",
    # "datasets", "endpoint_url"): `applies` asks whether it names anything. "": the check declares `applies`.
    target: ClassVar[str] = ""

    def applies(self, targets: CheckTargets) -> bool:
        if not self.target:  # pragma: no cover - a check without a target declares its own
            raise NotImplementedError
        return configured(getattr(targets, self.target))

    def run(self, ctx: CheckContext) -> CheckResult:  # pragma: no cover - overridden
        raise NotImplementedError


class CheckTimedOut(Exception):  # noqa: N818 - a state of the run, like Celery's SoftTimeLimitExceeded
    """The run reached its time limit before the check could decide: `error`, never a crash nor a verdict.

    A check may raise it itself (a deadline of its own); :func:`checks.runners.run_check` raises it in
    place of the worker's soft time limit (Celery's ``SoftTimeLimitExceeded``), and the Django layer
    ends the run saying which limit was reached (``checks.services.execute_run``, ``checks.tasks``).
    """


@dataclass(frozen=True)
class SandboxLimits:
    """What a sandboxed runner's child process may use; None takes the context's default.

    ``memory_mb``: address space (RLIMIT_AS); ``cpu_s``: CPU seconds (RLIMIT_CPU), by default
    the check's ``time_limit_s``.
    """

    memory_mb: int | None = None
    cpu_s: int | None = None


def combine_status(failed: bool, undecided: bool) -> Status:
    """Precedence for several targets: failed > error > passed."""
    if failed:
        return "failed"
    if undecided:
        return "error"
    return "passed"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"
