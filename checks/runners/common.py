"""The opening steps every path-reading runner shares, written once.

A check confines what it reads with :class:`~checks.runners.paths.PathPolicy`; how an unusable
source path becomes an ``error`` result, and how targets outside the roots or matching nothing
become findings, is decided here so the runners cannot drift apart on it.
"""

from __future__ import annotations

from collections.abc import Iterable

from .base import CheckContext, CheckResult, Finding
from .paths import Expansion, PathPolicy


def configured(target: str | Iterable[str]) -> bool:
    """Whether a check target (a path or URL, or a list of them) names anything: what ``applies`` asks."""
    if isinstance(target, str):
        return bool(target.strip())
    return any(item.strip() for item in target)


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
