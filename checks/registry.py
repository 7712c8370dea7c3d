"""All checks the portal knows: the plain-Python runners, the database-bound ones and any plug-in.

A check is one class (`checks.runners.base.BaseCheck`) that declares everything the Django layer
needs to know about it: its practices, schedule and limits, the source kinds and context it reads,
whether it records the model baseline, and its hooks. `checks.context`, `checks.services` and
`checks.tasks` read those declarations and never name a check (docs/checks.md, "Adding a check").
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import import_module

from .runners.base import BaseCheck


@cache
def registry() -> dict[str, type[BaseCheck]]:
    from .freshness import EvidenceFreshnessCheck
    from .runners import REGISTRY

    return {**REGISTRY, EvidenceFreshnessCheck.key: EvidenceFreshnessCheck}


def register(check: type[BaseCheck]) -> type[BaseCheck]:
    """Add a check class to the registry (also as a class decorator); `sync_check_definitions` (run
    after every `migrate`) then stores its definition and practices, and its schedule is created."""
    if not issubclass(check, BaseCheck) or not getattr(check, "key", ""):
        raise TypeError(f"{check!r} is not a check class with a key")
    known = registry().get(check.key)
    if known is not None and known is not check:
        raise ValueError(f"a check with the key {check.key!r} is already registered ({known.__qualname__})")
    registry()[check.key] = check
    return check


def unregister(key: str) -> None:
    """Remove a check added with `register` (tests clean up their plug-ins with it)."""
    registry().pop(key, None)


def check_keys() -> frozenset[str]:
    return frozenset(registry())


def get_check(key: str) -> type[BaseCheck]:
    return registry()[key]


def baseline_check() -> type[BaseCheck]:
    """The check whose artifacts are the project's approved baseline (`records_baseline`)."""
    found = [check for check in registry().values() if check.records_baseline]
    if len(found) != 1:
        raise LookupError(f"exactly one check must record the baseline, found {len(found)}")
    return found[0]


def hook(check: type[BaseCheck] | None, name: str) -> Callable | None:
    """The function a check names in its `after_run` or `finish_hook` declaration (None: it has none)."""
    path = getattr(check, name, "") if check is not None else ""
    if not path:
        return None
    module, _, attribute = path.rpartition(".")
    return getattr(import_module(module), attribute)
