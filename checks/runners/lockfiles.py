"""Lock-file readers: ``poetry.lock``, ``uv.lock``, ``pylock.toml`` and ``Pipfile.lock``.

Lock files pin every package exactly, so they give the most faithful audit.
They produce the same :class:`ParseResult` as the requirements parser;
packages that come from git, a URL or a local directory cannot be matched to a
release and are reported as unverifiable.  Anything else falls back to the
requirements-file parser (see :func:`parse_dependency_file`).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable

from .osv import normalize_name
from .redaction import package_name
from .requirements import (
    Issue,
    ParsedRequirement,
    ParseResult,
    parse_requirements,
    safe_url,
)

_TOML_LOCKS = ("poetry.lock", "uv.lock", "pylock.toml")


def _pinned(name: str, version: str, source: str, line: int = 0) -> ParsedRequirement:
    return ParsedRequirement(name=name, normalized=normalize_name(name), version=version,
                             specifier=f"=={version}", source=source, line=line)


def _toml_lock(data: dict, source: str, result: ParseResult) -> None:
    packages = data.get("package") if "package" in data else data.get("packages")
    if not isinstance(packages, list):
        result.issues.append(Issue("error", f"{source}: no [[package]] table found", source))
        return
    for index, package in enumerate(packages, start=1):
        if not isinstance(package, dict) or not package.get("name"):
            continue
        name, version = str(package["name"]), package.get("version")
        shown = package_name(name) or f"package #{index}"
        origin = package.get("source") or {}
        kind = origin.get("type") if isinstance(origin, dict) else None
        foreign = kind in ("git", "url", "directory", "file") or (
            isinstance(origin, dict) and any(k in origin for k in ("git", "url", "path", "directory", "editable", "virtual"))
            and "registry" not in origin)
        if "vcs" in package or "directory" in package:
            foreign = True
        if foreign:
            where = origin.get("url") or origin.get("git") or origin.get("path") or "" if isinstance(origin, dict) else ""
            result.issues.append(Issue("unverifiable", f"{shown} comes from {kind or 'a non-registry source'} "
                                                       f"{safe_url(str(where))}".rstrip(), source, 0))
        elif isinstance(version, str) and version:
            result.requirements.append(_pinned(name, version, f"{source}#{index}"))
        else:
            result.issues.append(Issue("unpinned", f"{shown} has no version in the lock file", source, 0))


def _pipfile_lock(data: dict, source: str, result: ParseResult) -> None:
    for section in ("default", "develop"):
        for name, entry in (data.get(section) or {}).items():
            if not isinstance(entry, dict):
                continue
            shown = package_name(str(name)) or f"an entry of [{section}]"
            version = str(entry.get("version", ""))
            if version.startswith("==") and not version.startswith("==="):
                result.requirements.append(_pinned(name, version[2:], f"{source}#{section}"))
            elif any(k in entry for k in ("git", "path", "file", "editable")):
                where = entry.get("git") or entry.get("file") or entry.get("path") or ""
                result.issues.append(Issue("unverifiable", f"{shown} comes from {safe_url(str(where))}", source))
            else:
                result.issues.append(Issue("unpinned", f"{shown} is not pinned to one version", source))


def parse_dependency_file(path: str, is_allowed: Callable[[str], bool] | None = None,
                          display: Callable[[str], str] | None = None) -> ParseResult:
    """Dispatch on the file name: lock files here, everything else as requirements."""
    show = display or (lambda p: p)
    base = os.path.basename(path).lower()
    if not (base in _TOML_LOCKS or base == "pipfile.lock" or (base.startswith("pylock.") and base.endswith(".toml"))):
        return parse_requirements(path, is_allowed=is_allowed, display=show)
    result = ParseResult()
    source = show(path)
    try:
        with open(os.path.realpath(path), "rb") as handle:
            raw = handle.read()
        data = json.loads(raw) if base == "pipfile.lock" else tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        result.issues.append(Issue("error", f"dependency file {source} does not exist", source))
        return result
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        result.issues.append(Issue("error", f"dependency file {source} could not be parsed ({type(exc).__name__})",
                                   source))
        return result
    result.files.append(source)
    if not isinstance(data, dict):
        result.issues.append(Issue("error", f"{source}: unexpected structure", source))
    elif base == "pipfile.lock":
        _pipfile_lock(data, source, result)
    else:
        _toml_lock(data, source, result)
    return result
