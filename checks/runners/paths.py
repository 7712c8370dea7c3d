"""Path confinement, glob expansion and hashing shared by the file-based checks.

Check targets are typed in by project members, so a target is untrusted input:
``/etc/passwd`` as a dataset or a symlink inside the repository pointing at
``/root/.ssh`` must never be read.  Every path is resolved with
``os.path.realpath`` (symlinks followed) and must lie inside one of the
allowed roots — the project's *team* directories, see ``checks.confinement``
— and outside every denied path (the portal's own files) *before* anything is
opened; otherwise it becomes an error finding "outside the allowed check
roots".

Relative targets are resolved against the project's ``source_path`` when it is
set, else against the first allowed root.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .base import Finding

OUTSIDE_ROOTS = "outside the allowed check roots"
CHUNK = 1024 * 1024

# Directories never descended into when walking a source tree.
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv",
    ".tox", ".nox", ".mypy_cache", ".ruff_cache", ".pytest_cache", "site-packages",
    ".eggs", ".idea", ".cache",
})


@dataclass(frozen=True)
class ResolvedFile:
    display: str  # what findings and data keys show (relative to source_path when inside it)
    real: str  # the resolved path that is actually opened


@dataclass
class Expansion:
    files: list[ResolvedFile] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # confinement / not-found problems
    unmatched: list[str] = field(default_factory=list)  # patterns that matched nothing

    @property
    def undecided(self) -> bool:
        return bool(self.findings or self.unmatched)


class PathPolicy:
    """Resolves targets and enforces the allowed roots."""

    def __init__(self, allowed_roots: Iterable[str], base_dir: str = "", denied: Iterable[str] = ()) -> None:
        self.roots = [os.path.realpath(r) for r in allowed_roots if r]
        self.denied = [os.path.realpath(d) for d in denied if d]
        base = base_dir or (self.roots[0] if self.roots else os.sep)
        self.base = os.path.abspath(base)

    @classmethod
    def for_context(cls, ctx) -> PathPolicy:
        """The policy of one run: its roots, its denied paths, relative paths from its source path."""
        return cls(ctx.allowed_roots, ctx.targets.source_path, getattr(ctx, "denied_paths", ()))

    def is_allowed(self, path: str) -> bool:
        real = os.path.realpath(path)
        if any(is_within(real, denied) for denied in self.denied):
            return False
        return any(is_within(real, root) for root in self.roots)

    def absolute(self, path: str) -> str:
        path = os.path.expanduser(path) if path.startswith("~") else path
        return os.path.normpath(path if os.path.isabs(path) else os.path.join(self.base, path))

    def display(self, path: str) -> str:
        absolute = os.path.abspath(path)
        try:
            if os.path.commonpath([absolute, self.base]) == self.base:
                return os.path.relpath(absolute, self.base)
        except ValueError:
            pass
        return absolute

    def outside(self, path: str) -> Finding:
        return Finding("high", OUTSIDE_ROOTS, f"{self.display(path)} is {OUTSIDE_ROOTS}; it was not read",
                       self.display(path))

    def confine(self, path: str) -> tuple[str, str | None, Finding | None]:
        """(absolute path, real path, None) for a path inside the roots, or (absolute path, None, the finding)."""
        absolute = self.absolute(path)
        if not self.is_allowed(absolute):
            return absolute, None, self.outside(absolute)
        return absolute, os.path.realpath(absolute), None

    def resolve_file(self, path: str) -> tuple[ResolvedFile | None, Finding | None]:
        """One explicit file path: confined, existing, regular file."""
        absolute, real, refused = self.confine(path)
        if real is None:
            return None, refused
        if not os.path.isfile(real):
            what = "is not a file" if os.path.exists(real) else "does not exist"
            return None, Finding("medium", "file not found", f"{self.display(absolute)} {what}",
                                 self.display(absolute))
        return ResolvedFile(self.display(absolute), real), None

    def resolve_dir(self, path: str) -> tuple[str | None, Finding | None]:
        absolute, real, refused = self.confine(path)
        if real is None:
            return None, refused
        if not os.path.isdir(real):
            return None, Finding("medium", "source path not found", f"{absolute} is not a directory", absolute)
        return real, None

    def expand(self, patterns: Iterable[str]) -> Expansion:
        """Expand paths, directories (recursively) and globs (``**`` allowed)."""
        out = Expansion()
        seen: set[str] = set()

        def add(candidate: str) -> None:
            if not self.is_allowed(candidate):
                out.findings.append(self.outside(candidate))
                return
            real = os.path.realpath(candidate)
            if os.path.isfile(real) and real not in seen:
                seen.add(real)
                out.files.append(ResolvedFile(self.display(candidate), real))

        for pattern in patterns:
            if not pattern or not pattern.strip():
                continue
            absolute = self.absolute(pattern.strip())
            if glob.has_magic(absolute):
                prefix = _static_prefix(absolute)
                if not self.is_allowed(prefix):
                    out.findings.append(self.outside(absolute))
                    continue
                before = len(out.files) + len(out.findings)
                for match in sorted(glob.glob(absolute, recursive=True)):
                    if os.path.isdir(match) and self.is_allowed(match):
                        continue  # a glob naming directories contributes their files only via **
                    add(match)
                if len(out.files) + len(out.findings) == before:
                    out.unmatched.append(self.display(absolute))
            elif not self.is_allowed(absolute):
                out.findings.append(self.outside(absolute))
            elif os.path.isdir(absolute):
                before = len(out.files)
                for display, real, problem in walk_files(self, os.path.realpath(absolute), prune=False):
                    if problem:
                        out.findings.append(problem)
                    elif real not in seen:
                        seen.add(real)
                        out.files.append(ResolvedFile(self.display(os.path.join(absolute, display)), real))
                if len(out.files) == before:
                    out.unmatched.append(self.display(absolute))
            elif os.path.exists(absolute):
                add(absolute)
            else:
                out.unmatched.append(self.display(absolute))
        return out


def is_within(path: str, root: str) -> bool:
    """``path`` is ``root`` or below it (both already absolute and normalised)."""
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives (Windows), relative mixed with absolute
        return False


def static_prefix(pattern: str) -> str:
    """The directory part of a glob before its first wildcard (``/a/b/*/c`` → ``/a/b``)."""
    return _static_prefix(pattern)


def _static_prefix(pattern: str) -> str:
    parts = pattern.split(os.sep)
    kept: list[str] = []
    for part in parts:
        if glob.has_magic(part):
            break
        kept.append(part)
    return os.sep.join(kept) or os.sep


def walk_files(policy: PathPolicy, root: str, prune: bool = True,
               max_size: int | None = None) -> Iterator[tuple[str, str, Finding | None]]:
    """Yield ``(relative path, real path, problem)`` for the files under ``root``.

    Directory symlinks are not followed; file symlinks that leave the allowed
    roots yield a problem finding instead of a readable path.  With ``prune``,
    :data:`SKIP_DIRS` are skipped.  Files larger than ``max_size`` are skipped
    silently (the caller decides whether to mention them).
    """
    for current, dirs, files in os.walk(root, followlinks=False):
        if prune:
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        else:
            dirs.sort()
        for name in sorted(files):
            full = os.path.join(current, name)
            rel = os.path.relpath(full, root)
            if not policy.is_allowed(full):
                yield rel, "", policy.outside(full)
                continue
            real = os.path.realpath(full)
            if not os.path.isfile(real):
                continue
            if max_size is not None and os.path.getsize(real) > max_size:
                continue
            yield rel, real, None


def sha256_file(path: str) -> str:
    """Streamed SHA-256 (1 MiB chunks) so multi-GB models do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
