"""All checks the portal knows: the plain-Python runners plus the database-bound ones."""

from __future__ import annotations

from functools import cache

from .runners.base import BaseCheck


@cache
def registry() -> dict[str, type[BaseCheck]]:
    from .freshness import EvidenceFreshnessCheck
    from .runners import REGISTRY

    return {**REGISTRY, EvidenceFreshnessCheck.key: EvidenceFreshnessCheck}


def check_keys() -> frozenset[str]:
    return frozenset(registry())


def get_check(key: str) -> type[BaseCheck]:
    return registry()[key]
