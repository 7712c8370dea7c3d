"""OSV advisory matching for PyPI packages, fully offline.

Implements the parts of the OSV schema (https://ossf.github.io/osv-schema/)
that decide whether ``package==version`` is affected:

* ``affected[].package`` must be ecosystem ``PyPI`` and its name is compared
  after PEP 503 normalisation (``Py_YAML`` == ``pyyaml``);
* ``affected[].versions`` is an explicit list (compared by PEP 440 equality,
  so ``1.0`` matches ``1.0.0``, and literally);
* ``affected[].ranges`` of type ``ECOSYSTEM`` (and ``SEMVER`` when its
  versions parse as PEP 440) are evaluated with the algorithm of the spec:
  events sorted by version, ``introduced`` opens, ``fixed`` closes
  (exclusive), ``last_affected`` closes (inclusive); several pairs per range
  work; ``GIT`` ranges are ignored (they name commits, not releases);
* a ``withdrawn`` record never matches; versions that do not parse are
  skipped rather than crashing the check.
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from functools import cmp_to_key

from packaging.version import InvalidVersion, Version

ErrorSink = list | Callable[[str], None] | None

_MAX_JSON_BYTES = 16 * 1024 * 1024


def normalize_name(name: str) -> str:
    """PEP 503 normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def _version(text: object) -> Version | None:
    if not isinstance(text, str):
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _affected_entries(record: dict, package: str) -> Iterator[dict]:
    wanted = normalize_name(package)
    for entry in record.get("affected") or []:
        if not isinstance(entry, dict):
            continue
        pkg = entry.get("package") or {}
        if pkg.get("ecosystem") == "PyPI" and normalize_name(str(pkg.get("name", ""))) == wanted:
            yield entry


def _event_key(event: dict) -> tuple[int, Version | None]:
    kind, value = next(iter(event.items()))
    if kind == "introduced" and value == "0":
        return (0, None)
    return (1, _version(value))


def _compare_events(a: dict, b: dict) -> int:
    ka, kb = _event_key(a), _event_key(b)
    if ka[0] != kb[0]:
        return ka[0] - kb[0]
    if ka[1] is None or kb[1] is None:
        return 0
    return -1 if ka[1] < kb[1] else (1 if ka[1] > kb[1] else 0)


def _in_range(version: Version, events: Iterable[dict]) -> bool:
    usable = []
    for event in events:
        if not isinstance(event, dict) or not event:
            continue
        kind, value = next(iter(event.items()))
        if kind not in ("introduced", "fixed", "last_affected"):
            continue  # "limit" only applies to GIT ranges
        if kind == "introduced" and value == "0" or _version(value) is not None:
            usable.append({kind: value})
    affected = False
    for event in sorted(usable, key=cmp_to_key(_compare_events)):
        kind, value = next(iter(event.items()))
        if kind == "introduced":
            if value == "0" or version >= Version(value):
                affected = True
        elif kind == "fixed":
            if version >= Version(value):
                affected = False
        elif version > Version(value):  # last_affected is inclusive
            affected = False
    return affected


def is_affected(osv_record: dict, package: str, version: str) -> bool:
    """Whether ``package==version`` (PyPI) is affected by ``osv_record``."""
    if not isinstance(osv_record, dict) or osv_record.get("withdrawn"):
        return False
    parsed = _version(version)
    for entry in _affected_entries(osv_record, package):
        for listed in entry.get("versions") or []:
            if listed == version or (parsed is not None and _version(listed) == parsed):
                return True
        if parsed is None:
            continue
        for rng in entry.get("ranges") or []:
            if not isinstance(rng, dict) or rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            if _in_range(parsed, rng.get("events") or []):
                return True
    return False


def fixed_versions(osv_record: dict, package: str) -> list[str]:
    """The ``fixed`` versions named for ``package`` (PEP 440 order, unique)."""
    found: set[str] = set()
    for entry in _affected_entries(osv_record, package):
        for rng in entry.get("ranges") or []:
            if isinstance(rng, dict) and rng.get("type") in ("ECOSYSTEM", "SEMVER"):
                for event in rng.get("events") or []:
                    if isinstance(event, dict) and isinstance(event.get("fixed"), str):
                        found.add(event["fixed"])
    return sorted(found, key=lambda v: (_version(v) is None, _version(v) or Version("0"), v))


def _report(errors: ErrorSink, message: str) -> None:
    if errors is None:
        return
    if callable(errors):
        errors(message)
    else:
        errors.append(message)


def _decode(name: str, raw: bytes, errors: ErrorSink) -> dict | None:
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _report(errors, f"{name}: not valid JSON ({type(exc).__name__})")
        return None
    if not isinstance(record, dict) or "id" not in record:
        _report(errors, f"{name}: not an OSV record (no 'id')")
        return None
    return record


def iter_osv_records(path: str, errors: ErrorSink = None) -> Iterator[dict]:
    """Yield OSV records from an OSV export ``all.zip`` or a folder tree of ``*.json``.

    Non-JSON entries are skipped; unparseable ones are reported through
    ``errors`` (a list to append to or a callback) instead of raising.
    """
    if os.path.isdir(path):
        for current, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if not name.lower().endswith(".json"):
                    continue
                full = os.path.join(current, name)
                try:
                    if os.path.getsize(full) > _MAX_JSON_BYTES:
                        _report(errors, f"{full}: larger than {_MAX_JSON_BYTES} bytes, skipped")
                        continue
                    with open(full, "rb") as handle:
                        raw = handle.read()
                except OSError as exc:
                    _report(errors, f"{full}: unreadable ({type(exc).__name__})")
                    continue
                record = _decode(full, raw, errors)
                if record is not None:
                    yield record
        return
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        _report(errors, f"{path}: not a zip file or folder ({type(exc).__name__})")
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith(".json"):
                continue
            if info.file_size > _MAX_JSON_BYTES:
                _report(errors, f"{info.filename}: larger than {_MAX_JSON_BYTES} bytes, skipped")
                continue
            try:
                raw = archive.read(info)
            except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
                _report(errors, f"{info.filename}: unreadable ({type(exc).__name__})")
                continue
            record = _decode(info.filename, raw, errors)
            if record is not None:
                yield record


class MemoryAdvisorySource:
    """An in-memory :class:`~checks.runners.base.AdvisorySource` indexed by package.

    Handy for the import command (validate before storing) and for tests.
    """

    def __init__(self, records: Iterable[dict] = ()) -> None:
        self._by_package: dict[str, list[dict]] = {}
        self._ids: set[str] = set()
        for record in records:
            self.add(record)

    def add(self, record: dict) -> None:
        names = {normalize_name(str((e.get("package") or {}).get("name", "")))
                 for e in record.get("affected") or [] if isinstance(e, dict)
                 and (e.get("package") or {}).get("ecosystem") == "PyPI"}
        for name in names - {""}:
            self._by_package.setdefault(name, []).append(record)
        self._ids.add(str(record.get("id")))

    def for_package(self, normalized_name: str) -> list[dict]:
        return list(self._by_package.get(normalize_name(normalized_name), []))

    def count(self) -> int:
        return len(self._ids)


# --- severity -------------------------------------------------------------------------

_DB_SEVERITY = {"CRITICAL": "critical", "HIGH": "high", "MODERATE": "medium", "MEDIUM": "medium", "LOW": "low"}
_CVSS3 = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}, "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62}, "C": {"H": 0.56, "L": 0.22, "N": 0.0},
}


def _roundup(value: float) -> float:
    integer = round(value * 100000)
    return integer / 100000.0 if integer % 10000 == 0 else (math.floor(integer / 10000) + 1) / 10.0


def cvss3_base_score(vector: str) -> float | None:
    """Base score of a CVSS v3.x vector (``CVSS:3.1/AV:N/AC:L/...``), None if malformed."""
    try:
        metrics = dict(part.split(":", 1) for part in vector.split("/")[1:])
        scope_changed = metrics["S"] == "C"
        pr = {"N": 0.85, "L": 0.68 if scope_changed else 0.62, "H": 0.5 if scope_changed else 0.27}[metrics["PR"]]
        impact_sub = 1 - math.prod(1 - _CVSS3["C"][metrics[k]] for k in ("C", "I", "A"))
        exploitability = 8.22 * _CVSS3["AV"][metrics["AV"]] * _CVSS3["AC"][metrics["AC"]] * pr \
            * _CVSS3["UI"][metrics["UI"]]
    except (KeyError, ValueError):
        return None
    if scope_changed:
        impact = 7.52 * (impact_sub - 0.029) - 3.25 * (impact_sub - 0.02) ** 15
    else:
        impact = 6.42 * impact_sub
    if impact <= 0:
        return 0.0
    total = 1.08 * (impact + exploitability) if scope_changed else impact + exploitability
    return _roundup(min(total, 10.0))


def record_severity(record: dict, default: str = "high") -> str:
    """Portal severity from ``database_specific.severity`` or a CVSS v3 vector."""
    label = str((record.get("database_specific") or {}).get("severity", "")).upper()
    if label in _DB_SEVERITY:
        return _DB_SEVERITY[label]
    for item in record.get("severity") or []:
        if isinstance(item, dict) and str(item.get("type", "")).startswith("CVSS_V3"):
            score = cvss3_base_score(str(item.get("score", "")))
            if score is not None:
                return "critical" if score >= 9 else "high" if score >= 7 else "medium" if score >= 4 \
                    else "low" if score > 0 else "info"
    return default
