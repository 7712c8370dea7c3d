"""What a finding may quote from a team's file: names that look like names, never values.

Findings are stored, exported and read by officers and auditors, so a runner describes *where*
(file and line) and *what kind*; it quotes a word from the file only when that word is meant to
be read by people (a package name, a column name, a Python global) and looks like one. A value
that looks random (a key, a token, a password) is replaced by its position, whatever file it
came from: a key file given as a requirements file, a headerless CSV whose first row holds
credentials, a text file that happens to parse as a pickle.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")  # PEP 508 distribution name
_SEPARATORS = re.compile(r"[-_.\s]+")
_LONG_TOKEN = re.compile(r"(?=[A-Za-z0-9+/=_-]*\d)(?=[A-Za-z0-9+/=_-]*[A-Za-z])[A-Za-z0-9+/=_-]{24,}")


def _transitions(word: str) -> int:
    """How often a word switches between lower case, upper case and digits (random strings do often)."""
    kinds = ["d" if c.isdigit() else "u" if c.isupper() else "l" for c in word if c.isalnum()]
    return sum(1 for a, b in zip(kinds, kinds[1:], strict=False) if a != b)


def looks_random(text: str) -> bool:
    """True for a string that may be key material or a token rather than a word a person chose.

    Package, column and module names switch case or between letters and digits a few times at
    most (``nvidia-cudnn-cu12``, ``PyYAML``, ``customer_id_2023``); a 20-character random
    string switches about ten times.
    """
    text = text.strip()
    if len(text) > 64 or _LONG_TOKEN.search(text):
        return True
    parts = [p for p in _SEPARATORS.split(text) if p]
    if any(len(p) > 30 for p in parts):
        return True
    return _transitions(text) >= 6 or any(len(p) >= 10 and _transitions(p) >= 4 for p in parts)


def package_name(name: str) -> str | None:
    """``name`` if a finding may show it as a package name, else None (show the line instead)."""
    return name if _NAME.match(name) and not looks_random(name) else None


def label(text: str, fallback: str, limit: int = 80) -> str:
    """A name from a file fit for a finding title (a column, a key), or ``fallback``."""
    text = text.strip()
    if not text or len(text) > limit or looks_random(text) or not text.isprintable():
        return fallback
    return text
