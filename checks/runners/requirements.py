"""A pip requirements-file parser that never guesses.

Only a requirement pinned to exactly one version (``==1.2.3`` or
``===1.2.3``) can be matched against advisories; anything else (ranges,
wildcards, bare names, editable installs, URL/VCS references) is reported as
an :class:`Issue` so the team sees what could not be verified.  Option lines
(``--index-url``, ``-c``, ``--trusted-host`` …) are ignored on purpose: they do
not name packages.  ``-r`` includes are followed relative to the including
file, cycles are detected, and every include is checked against the caller's
``is_allowed`` predicate (path confinement) before it is opened.

Environment markers are kept but not evaluated: the worker's interpreter is
not the project's, so a requirement guarded by a marker is still audited.
URLs are reported without credentials or query strings.  A line is quoted
only through a package name that looks like one
(:func:`checks.runners.redaction.package_name`): a line of a key file or an
``.env`` file that happens to parse as a bare requirement is reported by file
and line number, never by its text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement

from .osv import normalize_name
from .redaction import looks_random, package_name

IssueKind = Literal["unpinned", "unverifiable", "error", "cycle"]

_INCLUDE = {"-r", "--requirement"}
_EDITABLE = {"-e", "--editable"}
_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")
_NAMED_URL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*@")  # PEP 508 "name @ url"
_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git\+|hg\+|svn\+|bzr\+|file:|\.{0,2}/)", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedRequirement:
    name: str
    normalized: str
    version: str | None  # the exact pinned version, None when not pinned
    specifier: str = ""
    extras: tuple[str, ...] = ()
    marker: str = ""
    hashes: tuple[str, ...] = ()
    source: str = ""
    line: int = 0

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class Issue:
    kind: IssueKind
    message: str
    source: str = ""
    line: int = 0

    @property
    def ref(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass
class ParseResult:
    requirements: list[ParsedRequirement] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read, in order


def safe_url(url: str) -> str:
    """A URL without user-info, query or fragment (they may carry tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    # a path segment may be a token (registry URLs such as /simple/<token>/): shown as "…"
    path = "/".join("…" if looks_random(segment) else segment for segment in parts.path.split("/"))
    return f"{parts.scheme}://{host}{path}" if parts.scheme else path


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Join ``\\`` continuations and strip comments; returns (first line number, text)."""
    out: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw
        if line.lstrip().startswith("#"):
            line = ""
        else:
            line = re.sub(r"(^|\s)#.*$", "", line)  # trailing " # comment"; URL #fragments survive
        if not buffer:
            start = number
        if line.rstrip().endswith("\\"):
            buffer += line.rstrip()[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            out.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        out.append((start, buffer.strip()))
    return out


def parse_requirement_line(line: str, source: str = "", number: int = 0) -> ParsedRequirement | Issue:
    """Parse one logical requirement line (not an option line)."""
    tokens = line.split()
    split_at = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    spec = " ".join(tokens[:split_at])  # pip's own rule: options start at the first "-" token
    hashes: list[str] = []
    options = iter(tokens[split_at:])
    for option in options:
        if option.startswith("--hash="):
            hashes.append(option.split("=", 1)[1])
        elif option == "--hash":
            hashes.append(next(options, ""))
    if not spec:
        return Issue("error", "empty requirement", source, number)
    if not _NAMED_URL.match(spec) and (_URLISH.match(spec) or spec.lower().endswith(_ARCHIVES)):
        return Issue("unverifiable", f"URL/path requirement {safe_url(spec)} cannot be matched to a version",
                     source, number)
    try:
        req = Requirement(spec)
    except InvalidRequirement:
        return Issue("error", f"line {number} is not a valid requirement (its text is not shown)", source, number)
    normalized = normalize_name(req.name)
    if req.url:
        return Issue("unverifiable", f"{req.name} @ {safe_url(req.url)} is a direct URL reference",
                     source, number)
    pins = [s for s in req.specifier if s.operator in ("==", "===") and not s.version.endswith(".*")]
    version = pins[0].version if len(pins) == 1 else None
    return ParsedRequirement(
        name=req.name, normalized=normalized, version=version, specifier=str(req.specifier),
        extras=tuple(sorted(req.extras)), marker=str(req.marker or ""), hashes=tuple(hashes),
        source=source, line=number,
    )


def unpinned_message(parsed: ParsedRequirement, number: int) -> str:
    name = package_name(parsed.name)
    if name is None:
        return (f"line {number} is not pinned to one version (its text is not shown: it does not look like a "
                "package name; is this a requirements file?)")
    return f"{name} ({parsed.specifier or 'any version'}) is not pinned to one version"


def parse_requirements(path: str, is_allowed: Callable[[str], bool] | None = None,
                       display: Callable[[str], str] | None = None) -> ParseResult:
    """Parse ``path`` and its ``-r`` includes.

    ``is_allowed`` confines includes (a refused include is an error issue and
    is not opened); ``display`` turns a path into what issues show.
    """
    result = ParseResult()
    show = display or (lambda p: p)
    _parse_file(os.path.abspath(path), result, [], set(), is_allowed, show, "", 0)
    return result


def _parse_file(path: str, result: ParseResult, stack: list[str], done: set[str],
                is_allowed: Callable[[str], bool] | None, show: Callable[[str], str],
                parent: str, parent_line: int) -> None:
    real = os.path.realpath(path)
    if real in stack:
        result.issues.append(Issue("cycle", f"include cycle: {show(path)} includes itself indirectly; "
                                            "not followed again", parent, parent_line))
        return
    if real in done:
        return
    if is_allowed is not None and not is_allowed(path):
        result.issues.append(Issue("error", f"{show(path)} is outside the allowed check roots", parent or show(path),
                                   parent_line))
        return
    try:
        with open(real, encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = "does not exist" if isinstance(exc, FileNotFoundError) else f"could not be read ({type(exc).__name__})"
        result.issues.append(Issue("error", f"requirements file {show(path)} {reason}", parent or show(path),
                                   parent_line))
        return
    done.add(real)
    result.files.append(show(path))
    source = show(path)
    stack.append(real)
    for number, line in logical_lines(text):
        head, _, rest = line.partition(" ")
        flag, eq, value = head.partition("=")
        if flag in _INCLUDE or head.startswith("-r") and len(head) > 2 and not head.startswith("--"):
            target = (value if eq else rest.strip()) if flag in _INCLUDE else head[2:]
            target = target.strip().strip("'\"")
            if looks_random(target):
                result.issues.append(Issue("error", f"the file included on line {number} has a name that looks like "
                                                    "a key, not a file name; it was not followed", source, number))
                continue
            if re.match(r"^[a-z]+://", target, re.IGNORECASE):
                result.issues.append(Issue("error", f"remote include {safe_url(target)} was not fetched",
                                           source, number))
                continue
            include = os.path.join(os.path.dirname(path), os.path.expanduser(target))
            _parse_file(os.path.normpath(include), result, stack, done, is_allowed, show, source, number)
        elif flag in _EDITABLE or head.startswith("-e") and not head.startswith("--"):
            target = ((value if eq else rest.strip()) if flag in _EDITABLE else head[2:] + rest).strip()
            shown = f"on line {number}" if looks_random(target) else safe_url(target)
            result.issues.append(Issue("unverifiable", f"editable requirement {shown} has no pinned version",
                                       source, number))
        elif line.startswith("-"):
            continue  # --index-url, -i, --extra-index-url, -f, -c, --trusted-host, --pre …: not packages
        else:
            parsed = parse_requirement_line(line, source, number)
            if isinstance(parsed, Issue):
                result.issues.append(parsed)
            else:
                result.requirements.append(parsed)
                if parsed.version is None:
                    result.issues.append(Issue("unpinned", unpinned_message(parsed, number), source, number))
    stack.pop()
