"""The opening steps every runner of one target kind shares, written once.

A check confines what it reads with :class:`~checks.runners.paths.PathPolicy`; how an unusable
source path becomes an ``error`` result, and how targets outside the roots or matching nothing
become findings, is decided here so the runners cannot drift apart on it.  A check of one target
kind derives from its class below, which declares the kind once (``target``, the source kinds that
can hold it) and opens ``run``; the check writes the rest (``run_tree``, ``run_files``,
``run_endpoint``).
"""

from __future__ import annotations

from typing import ClassVar

from .base import BaseCheck, CheckContext, CheckResult, Finding, SandboxLimits
from .netutil import Endpoint, EndpointError, parse_endpoint
from .paths import Expansion, PathPolicy


def source_tree(ctx: CheckContext) -> tuple[PathPolicy, str | None, CheckResult | None]:
    """The policy and the confined source directory, or the ``error`` result to return when it is unusable."""
    policy = PathPolicy.for_context(ctx)
    root, problem = policy.resolve_dir(ctx.targets.source_path)
    if root is None:
        return policy, None, CheckResult("error", f"source path unusable: {problem.title}", [problem])
    return policy, root, None


def expand_targets(ctx: CheckContext, patterns: list[str], noun: str) -> tuple[PathPolicy, Expansion, list[Finding]]:
    """The policy, the files the patterns match, and the findings to start from: a target outside the roots
    (from the expansion) and a medium "no <noun> found" for each pattern that matches nothing."""
    policy = PathPolicy.for_context(ctx)
    expansion = policy.expand(patterns)
    findings = list(expansion.findings)
    findings += [Finding("medium", f"no {noun} found", f"nothing matches {pattern}", pattern)
                 for pattern in expansion.unmatched]
    return policy, expansion, findings


class SourceTreeCheck(BaseCheck):
    """A check of the project's source tree, parsed in the sandbox: ``run_tree`` gets the confined root."""

    target = "source_path"
    source_kinds = ("path", "git")
    sandbox = SandboxLimits()  # parses the team's files: a child process with limits

    def run(self, ctx: CheckContext) -> CheckResult:
        policy, root, unusable = source_tree(ctx)
        if unusable is not None:
            return unusable
        return self.run_tree(ctx, policy, root)

    def run_tree(self, ctx: CheckContext, policy: PathPolicy, root: str) -> CheckResult:  # pragma: no cover
        raise NotImplementedError


class FileTargetsCheck(BaseCheck):
    """A check of the files a list of path patterns names (``target``: ``model_artifacts``, ``datasets``):
    ``run_files`` gets the expansion and the findings to start from (see :func:`expand_targets`)."""

    noun: ClassVar[str]  # what one file is called in "no … found"

    def run(self, ctx: CheckContext) -> CheckResult:
        policy, expansion, findings = expand_targets(ctx, getattr(ctx.targets, self.target), self.noun)
        return self.run_files(ctx, policy, expansion, findings)

    def run_files(self, ctx: CheckContext, policy: PathPolicy, expansion: Expansion,
                  findings: list[Finding]) -> CheckResult:  # pragma: no cover
        raise NotImplementedError


class ModelArtifactsCheck(FileTargetsCheck):
    """A check of the model artifacts, wherever a model is kept; they are large: the ``heavy`` queue."""

    target = "model_artifacts"
    noun = "artifact"
    source_kinds = ("path", "git", "s3", "mlflow")
    heavy = True


class EndpointCheck(BaseCheck):
    """A check of the serving endpoint: ``run_endpoint`` gets the parsed URL (a malformed one is ``error``)."""

    target = "endpoint_url"
    source_kinds = ("endpoint",)

    def run(self, ctx: CheckContext) -> CheckResult:
        try:
            endpoint = parse_endpoint(ctx.targets.endpoint_url)
        except EndpointError as exc:
            return CheckResult("error", str(exc))
        return self.run_endpoint(ctx, endpoint)

    def run_endpoint(self, ctx: CheckContext, endpoint: Endpoint) -> CheckResult:  # pragma: no cover
        raise NotImplementedError
