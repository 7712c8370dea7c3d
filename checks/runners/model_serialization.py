"""``model-serialization``: find code-executing payloads in model artifacts without loading them.

Every artifact is classified by magic bytes first and extension second, then:

* safetensors → header validated against the file size (no code can hide there);
* pickle / joblib / dill, legacy PyTorch, PyTorch zip archives (``data.pkl``),
  ``.npy`` with object dtype, ``.npz`` → picklescan **and** modelscan (and
  fickling as a third opinion) over the pickle streams, plus our own
  ``pickletools`` walk that must read complete pickles to the end;
* Keras / HDF5 / SavedModel → modelscan only (its scanners need TensorFlow /
  h5py; without them modelscan reports a dependency error → undecidable);
* obvious non-model files (``.json``, ``.txt``, ``.md`` …) → info, not scanned;
  anything else → "unsupported artifact format" (undecidable).

A dangerous global reported by any scanner fails the artifact (critical).  A
file that any of the applicable scanners or the opcode walk could not parse
is *error*, never clean.

Hostile files are expected, so the check runs in the sandbox
(:mod:`checks.runners.sandbox`: memory and CPU limits on a child process) and
our own streaming opcode walk goes first, with caps from ``ctx.limits``: an
archive member that declares more uncompressed bytes than
``max_decompressed_bytes``, a pickle stream longer than that or with more than
``max_pickle_opcodes`` opcodes, or an archive with more than
``max_archive_members`` members is an *error* ("exceeds a scanning limit") and
is never handed to picklescan, modelscan or fickling, which keep every opcode
in memory.  Findings name files, members and Python globals; never bytes of the
file (a global that is not a valid dotted Python name is not echoed).  Known limitation: joblib files that embed NumPy
arrays interleave raw bytes with pickle opcodes and therefore cannot be fully
disassembled; they come out as error rather than as an unverified pass.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from typing import ClassVar

from .base import (
    BaseCheck,
    CheckContext,
    CheckResult,
    CheckTargets,
    Finding,
    ResourceLimits,
    SandboxLimits,
    combine_status,
    plural,
)
from .model_formats import (
    NPY_MAGIC,
    PICKLE_MAGICS,
    ZIP_MAGICS,
    FormatError,
    read_npy_header,
    validate_safetensors,
)
from .paths import PathPolicy, sha256_file
from .pickle_scan import (
    FICKLING_MAX_BYTES,
    FICKLING_MAX_OPCODES,
    BoundedReader,
    PickleWalkError,
    ScanLimitExceeded,
    ScanOutcome,
    fickling_bytes,
    modelscan_file,
    modelscan_pickle,
    picklescan_file,
    walk_pickles,
)

PICKLE_EXT = {".pkl", ".pickle", ".joblib", ".dill", ".dat", ".data", ".sav"}
# Archive members picklescan treats as pickles (by extension); each is vetted before it sees them.
MEMBER_PICKLE_EXT = (".pkl", ".pickle", ".joblib", ".dat", ".data")
_PYTHON_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
TORCH_EXT = {".pt", ".pth", ".bin", ".ckpt"}
MODELSCAN_ONLY_EXT = {".h5", ".hdf5", ".keras", ".pb"}
DATA_EXT = {".json", ".txt", ".md", ".rst", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".csv", ".tsv",
            ".html", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".gitattributes", ".gitignore"}
DATA_NAMES = {"license", "readme", "notice", "authors", "changelog"}


class ModelSerializationCheck(BaseCheck):
    key: ClassVar[str] = "model-serialization"
    title: ClassVar[str] = "Model serialization safety"
    practices: ClassVar[tuple[str, ...]] = ("MLS-11", "MLS-13", "MLS-23")
    default_schedule: ClassVar[str] = "40 3 * * *"
    time_limit_s: ClassVar[int] = 900
    heavy: ClassVar[bool] = True
    sandbox: ClassVar[SandboxLimits] = SandboxLimits()
    description: ClassVar[str] = (
        "Scans the configured model artifacts (pickle, joblib, PyTorch, NumPy, safetensors, Keras) with "
        "picklescan, modelscan and fickling without ever loading them. Fails when any scanner finds a "
        "dangerous import such as os.system or eval; a file no scanner can fully parse is an error, never a pass."
    )

    def applies(self, targets: CheckTargets) -> bool:
        return any(p.strip() for p in targets.model_artifacts)

    def run(self, ctx: CheckContext) -> CheckResult:
        policy = PathPolicy.for_context(ctx)
        expansion = policy.expand(ctx.targets.model_artifacts)
        findings = list(expansion.findings)
        for pattern in expansion.unmatched:
            findings.append(Finding("medium", "no artifact found", f"nothing matches {pattern}", pattern))
        artifacts: dict[str, str] = {}
        files: dict[str, dict] = {}
        bad: list[str] = []
        undecided: list[str] = []
        for item in expansion.files:
            try:
                artifacts[item.display] = sha256_file(item.real)
                fmt, outcome = inspect_artifact(item.real, item.display, ctx.limits)
            except OSError as exc:
                undecided.append(item.display)
                findings.append(Finding("medium", "artifact unreadable", f"{type(exc).__name__}", item.display))
                continue
            except MemoryError:
                undecided.append(item.display)
                findings.append(Finding("medium", "artifact exceeds a scanning limit",
                                        f"parsing it needs more than the memory limit of {ctx.limits.memory_mb} MB",
                                        item.display))
                continue
            except Exception as exc:  # noqa: BLE001 - one hostile file must not hide the verdicts on the others
                undecided.append(item.display)
                findings.append(Finding("medium", "artifact could not be parsed",
                                        f"scanning crashed ({type(exc).__name__})", item.display))
                continue
            files[item.display] = {"format": fmt, "scanned_by": sorted(outcome.scanned_by)}
            if outcome.dangerous:
                bad.append(item.display)
                names = ", ".join(f"{_shown(name)} ({'/'.join(sorted(by))})"
                                  for name, by in sorted(outcome.dangerous.items()))
                findings.append(Finding("critical", f"dangerous callable in {item.display}",
                                        f"loading this file imports and can call: {names}", item.display))
                files[item.display]["verdict"] = "dangerous"
            elif outcome.errors:
                undecided.append(item.display)
                title = ("artifact exceeds a scanning limit" if outcome.capped else
                         "unsupported artifact format" if fmt == "unsupported" else "artifact could not be parsed")
                findings.append(Finding("medium", title, "; ".join(outcome.errors)[:600], item.display))
                files[item.display]["verdict"] = "error"
            elif fmt == "data":
                findings.append(Finding("info", "not a model artifact, skipped", "", item.display))
                files[item.display]["verdict"] = "not-a-model"
            else:
                files[item.display]["verdict"] = "clean"
                if outcome.suspicious:
                    sample = ", ".join(sorted({_shown(n) for n in outcome.suspicious})[:8])
                    findings.append(Finding("info", f"imports to review in {item.display}",
                                            f"not on the scanners' allow-list (check they come from libraries you "
                                            f"trust): {sample}", item.display))
            if outcome.notes:
                files[item.display]["notes"] = outcome.notes

        data = {"artifacts": artifacts, "files": files, "scanners": _scanner_versions()}
        if not expansion.files and not expansion.findings:
            return CheckResult("error", "no artifact found: the configured paths match no file", findings, data)
        only_data = files and all(f["verdict"] == "not-a-model" for f in files.values())
        if only_data and not (undecided or expansion.undecided):
            return CheckResult("error", "no model artifact found: every matched file is documentation or data",
                               findings, data)
        problems = bool(undecided or expansion.undecided)
        status = combine_status(bool(bad), problems)
        if status == "failed":
            summary = f"{plural(len(bad), 'artifact')} would execute code when loaded: {', '.join(bad[:5])}"
        elif status == "error":
            count = len(undecided) + len(expansion.findings) + len(expansion.unmatched)
            summary = f"could not vouch for {plural(count, 'artifact target')}; no dangerous import found elsewhere"
        else:
            scanned = sum(1 for f in files.values() if f["verdict"] == "clean")
            summary = f"{plural(scanned, 'artifact')} scanned, no dangerous import found"
        return CheckResult(status, summary, findings, data)


def _scanner_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("picklescan", "modelscan", "fickling"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def _shown(name: str) -> str:
    """A global as findings may show it: a dotted Python name, or a placeholder (never raw bytes)."""
    return name if len(name) <= 200 and _PYTHON_NAME.match(name) else "<a global that is not a Python name>"


def inspect_artifact(real: str, display: str, limits: ResourceLimits | None = None) -> tuple[str, ScanOutcome]:
    """Classify one file and run the applicable scanners; returns (format, outcome).

    Our bounded walk runs first; the other scanners only see streams within ``limits``.
    """
    limits = limits or ResourceLimits()
    base = os.path.basename(real).lower()
    ext = os.path.splitext(base)[1]
    if ext in DATA_EXT or base in DATA_NAMES:
        return "data", ScanOutcome()
    size = os.path.getsize(real)
    with open(real, "rb") as handle:
        head = handle.read(8)
        if ext == ".safetensors":
            return "safetensors", _safetensors(handle, size)
        if ext in MODELSCAN_ONLY_EXT:
            return ext.lstrip("."), modelscan_file(real)
        if head.startswith(NPY_MAGIC):
            return "npy", _then_picklescan(_npy(handle, 0, size, display, limits), real)
        if head.startswith(ZIP_MAGICS):
            return "zip", _then_picklescan(_zip(real, display, limits), real)
        if ext in TORCH_EXT or ext in PICKLE_EXT or ext == ".npy" or head[:2] in PICKLE_MAGICS:
            stream = _pickle_stream(handle, 0, size, display, limits, torch=ext in TORCH_EXT)
            return "pickle", _then_picklescan(stream, real)
    outcome = ScanOutcome()
    outcome.errors.append(f"unsupported artifact format '{_extension(ext)}': no scanner handles it")
    return "unsupported", outcome


def _extension(ext: str) -> str:
    return ext if ext and len(ext) <= 12 and _PYTHON_NAME.match(ext.lstrip(".")) else "no known extension"


def _then_picklescan(outcome: ScanOutcome, real: str) -> ScanOutcome:
    """picklescan reads whole members into memory: only once our walk found them within the limits."""
    if not outcome.capped:
        first = picklescan_file(real)
        first.merge(outcome)
        return first
    outcome.notes.append("picklescan, modelscan and fickling skipped: a scanning limit was exceeded")
    return outcome


def _capped(message: str) -> ScanOutcome:
    outcome = ScanOutcome(capped=True)
    outcome.errors.append(f"exceeds a scanning limit: {message}")
    return outcome


def _safetensors(handle, size: int) -> ScanOutcome:
    outcome = ScanOutcome()
    handle.seek(0)
    try:
        validate_safetensors(handle, size)
        outcome.scanned_by.add("safetensors-header")
    except FormatError as exc:
        outcome.errors.append(f"invalid safetensors file: {exc}")
    return outcome


def _pickle_stream(raw, start: int, length: int, name: str, limits: ResourceLimits,
                   torch: bool = False) -> ScanOutcome:
    """Bounded opcode walk first; modelscan and fickling only over a stream within the limits."""
    outcome = ScanOutcome()
    reader = BoundedReader(raw, start, length)
    opcodes = 0
    try:
        # legacy torch.save: magic, protocol, sys_info, object, storage keys, then raw tensor bytes
        _, _, opcodes = walk_pickles(reader, legacy_torch=torch, max_opcodes=limits.max_pickle_opcodes,
                                     max_bytes=limits.max_decompressed_bytes)
        end = reader.tell()
    except ScanLimitExceeded as exc:
        return _capped(str(exc))
    except PickleWalkError as exc:
        outcome.errors.append(f"opcode walk: {exc}")
        end = length
    if end > limits.max_decompressed_bytes:
        return _capped(f"a pickle stream larger than {limits.max_decompressed_bytes:,} bytes")
    if not outcome.errors:
        outcome.scanned_by.add("opcode-walk")
    outcome.merge(modelscan_pickle(name, BoundedReader(raw, start, end)))
    if opcodes > FICKLING_MAX_OPCODES:
        outcome.notes.append(f"fickling skipped ({opcodes} opcodes)")
    else:
        outcome.merge(fickling_bytes(BoundedReader(raw, start, end).read(FICKLING_MAX_BYTES + 1)))
    return outcome


def _npy(raw, start: int, length: int, name: str, limits: ResourceLimits) -> ScanOutcome:
    outcome = ScanOutcome()
    reader = BoundedReader(raw, start, length)
    try:
        header = read_npy_header(reader)
    except FormatError as exc:
        outcome.errors.append(f"invalid .npy file: {exc}")
        return outcome
    outcome.scanned_by.add("npy-header")
    if header.has_object:
        return _merge(outcome, _pickle_stream(raw, start + header.data_offset, length - header.data_offset, name,
                                              limits))
    expected = header.data_offset + header.itemsize * math.prod(header.shape)
    if expected != length:
        outcome.errors.append(f"invalid .npy file: header announces {expected} bytes, file has {length}")
    return outcome


def _zip(real: str, display: str, limits: ResourceLimits) -> ScanOutcome:
    """Every pickle and NumPy member, each vetted against the limits before anything decompresses it."""
    outcome = ScanOutcome()
    scannable = 0
    try:
        with zipfile.ZipFile(real) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) > limits.max_archive_members:
                return _capped(f"{len(members):,} archive members (at most {limits.max_archive_members:,} are read)")
            for info in members:
                member = f"{display}:{_member(info.filename)}"
                lower = info.filename.lower()
                with archive.open(info) as handle:
                    head = handle.read(8)
                if head.startswith(ZIP_MAGICS):
                    outcome.errors.append(f"nested archive {_member(info.filename)} is not scanned")
                    continue
                is_npy = lower.endswith(".npy") or head.startswith(NPY_MAGIC)
                is_pickle = lower.endswith(MEMBER_PICKLE_EXT) or head[:2] in PICKLE_MAGICS
                if not (is_npy or is_pickle):
                    continue
                scannable += 1
                if is_pickle and info.file_size > limits.max_decompressed_bytes:
                    outcome.merge(_capped(f"member {_member(info.filename)} unpacks to {info.file_size:,} bytes (at most "
                                          f"{limits.max_decompressed_bytes:,} are scanned)"))
                    continue
                with archive.open(info) as handle:
                    if is_npy:
                        outcome.merge(_npy(handle, 0, info.file_size, member, limits))
                    else:
                        outcome.merge(_pickle_stream(handle, 0, info.file_size, member, limits))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, EOFError) as exc:
        outcome.errors.append(f"zip archive unreadable ({type(exc).__name__})")
        return outcome
    if scannable == 0:
        outcome.errors.append("zip archive holds no pickle or NumPy member to scan (unsupported layout)")
    return outcome


def _member(name: str) -> str:
    """An archive member's name fit for a finding: printable, bounded."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in name)
    return clean if len(clean) <= 120 else clean[:119] + "…"


def _merge(a: ScanOutcome, b: ScanOutcome) -> ScanOutcome:
    a.merge(b)
    return a
