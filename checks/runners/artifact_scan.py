"""One model artifact in, one report out: format detection, the allow-list policy, second opinions.

:func:`scan_artifact` never loads a file.  It sniffs the format from the bytes (extension second),
runs the parser for that format (:mod:`.formats`), and for pickle-based formats (pickle, joblib
plain or compressed, PyTorch zip / legacy / tar, NumPy object arrays, ``.npz``):

* the allow-list policy (:mod:`.pickle_policy`): every import listed; anything not on the
  documented allow-list nor on the team's reviewed extras is a finding (critical when known to
  execute code, high otherwise);
* picklescan, modelscan and fickling as second opinions: any of them calling a callable
  dangerous fails the file too (except the documented :data:`KNOWN_SCANNER_FALSE_POSITIVES`);
  what each said is kept in ``opinions`` and a disagreement is reported.

The report's verdict: ``dangerous`` (a high or critical finding), ``error`` (nobody could parse
the file completely), ``clean``, or ``not-a-model``.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from .base import Finding, ResourceLimits
from .model_formats import NPY_MAGIC, PICKLE_MAGICS, ZIP_MAGICS, FormatError, read_npy_header, validate_safetensors
from .pickle_policy import POLICY_VERSION, PickleParseError, analyze_pickles, evaluate
from .pickle_scan import (
    FICKLING_MAX_BYTES,
    FICKLING_MAX_OPCODES,
    BoundedReader,
    PickleWalkError,
    ScanLimitExceeded,
    ScanOutcome,
    walk_pickles,
)

SCANNER_VERSION = "2026.12.1"  # our own parsers (opcode walk, format readers): bump when they change
PICKLE_EXT = {".pkl", ".pickle", ".joblib", ".dill", ".dat", ".data", ".sav"}
TORCH_EXT = {".pt", ".pth", ".bin", ".ckpt"}
DATA_EXT = {".json", ".txt", ".md", ".rst", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".csv", ".tsv",
            ".html", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".gitattributes", ".gitignore", ".sig"}
DATA_NAMES = {"license", "readme", "notice", "authors", "changelog", "model.sig"}
COMPRESSED_MAGICS = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"), (b"\x5d\x00\x00", "lzma"),
                     (b"ZF", "joblib-zlib"), (b"\x78\x01", "zlib"), (b"\x78\x5e", "zlib"), (b"\x78\x9c", "zlib"),
                     (b"\x78\xda", "zlib"))

#: (scanner, name) pairs a second opinion reports although the name is a documented safe reconstructor.
KNOWN_SCANNER_FALSE_POSITIVES: dict[tuple[str, str], str] = {
    ("fickling", "joblib.numpy_pickle.NumpyArrayWrapper"):
        "fickling blocks the whole joblib module; this class only carries an array's shape and dtype",
}

_NAME_OK = re.compile(r"^[A-Za-z0-9_.<>/\-]{1,160}$")


def scrub(text: str, limit: int = 300) -> str:
    from . import scrub as _scrub

    return _scrub(text, limit)


def safe_name(name: str) -> str:
    """A name read from a file, fit for a finding: printable identifier characters only, no token-like values."""
    return scrub(name, 160) if _NAME_OK.match(name) else "<a name that is not a Python name or a plain path>"


@dataclass(frozen=True)
class Allowances:
    """A team's reviewed extras: pickle globals and ONNX operator domains (name -> reason)."""

    pickle_globals: Mapping[str, str] = field(default_factory=dict)
    onnx_domains: Mapping[str, str] = field(default_factory=dict)


@dataclass
class FileReport:
    display: str
    format: str = "unsupported"
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scanned_by: set[str] = field(default_factory=set)
    opinions: dict[str, str] = field(default_factory=dict)
    imports: set[str] = field(default_factory=set)
    allowed_by_team: set[str] = field(default_factory=set)
    flagged: dict[str, dict] = field(default_factory=dict)  # name -> {"severity", "reason", "by": set, "forms": set}
    covers: set[str] = field(default_factory=set)  # other files this one reads (ONNX external data), real paths
    allowances: Allowances = field(default_factory=Allowances)
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    capped: bool = False  # a scanning limit was hit: nothing else was given the stream

    def cap(self, reason: str) -> None:
        """Stop at a scanning limit: undecided ("cannot decide"), never a pass."""
        self.capped = True
        self.errors.append(f"exceeds a scanning limit: {reason}")

    def flag(self, name: str, by: str, severity: str = "critical", reason: str = "", forms=()) -> None:
        entry = self.flagged.setdefault(name, {"severity": severity, "reason": reason, "by": set(), "forms": set()})
        if _rank(severity) > _rank(entry["severity"]):
            entry["severity"] = severity
        entry["reason"] = entry["reason"] or reason
        entry["by"].add(by)
        entry["forms"] |= set(forms)

    def add(self, severity: str, title: str, detail: str = "") -> None:
        self.findings.append(Finding(severity, title, detail[:600], self.display))

    def opinion(self, scanner: str, said: str) -> None:
        order = ("dangerous", "could not parse", "clean", "skipped")
        before = self.opinions.get(scanner)
        if before is None or order.index(said) < order.index(before):
            self.opinions[scanner] = said

    @property
    def verdict(self) -> str:
        if self.flagged or any(_rank(f.severity) >= _rank("high") for f in self.findings):
            return "dangerous"
        if self.errors:
            return "error"
        if self.format == "data":
            return "not-a-model"
        return "clean"

    def all_findings(self) -> list[Finding]:
        out = []
        for name, entry in sorted(self.flagged.items(), key=lambda kv: (-_rank(kv[1]["severity"]), kv[0])):
            shown = safe_name(name)
            by = ", ".join(sorted(entry["by"]))
            forms = f"; imported as {', '.join(sorted(entry['forms']))}" if entry["forms"] else ""
            if "allow-list" not in entry["by"]:
                title = f"dangerous callable in {self.display}: {shown}"
            elif entry["severity"] == "critical":
                title = f"code execution on load in {self.display}: {shown}"
            else:
                title = f"import outside the allow-list in {self.display}: {shown}"
            reason = entry["reason"] or "reported dangerous"
            out.append(Finding(entry["severity"], title,
                               f"loading this file imports and can call {shown} ({reason}); flagged by: {by}{forms}",
                               self.display))
        out += self.findings
        decided = {s: v for s, v in self.opinions.items() if v in ("dangerous", "clean")}
        if len(set(decided.values())) > 1:
            said = "; ".join(f"{s}: {v}" for s, v in sorted(self.opinions.items()))
            out.append(Finding("info", f"scanners disagree on {self.display}", said, self.display))
        return out

    def as_data(self) -> dict:
        data = {"format": self.format, "verdict": self.verdict, "scanned_by": sorted(self.scanned_by),
                "opinions": dict(sorted(self.opinions.items()))}
        if self.imports:
            data["imports"] = sorted(safe_name(n) for n in self.imports)[:200]
        if self.allowed_by_team:
            data["allowed_by_team"] = sorted(self.allowed_by_team)
        if self.notes:
            data["notes"] = self.notes[:20]
        return data


def _rank(severity: str) -> int:
    return ("info", "low", "medium", "high", "critical").index(severity)


def scan_versions() -> dict[str, str]:
    """The versions a verdict depends on: our policy and parsers, and every maintained scanner/parser."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"allow-list policy": POLICY_VERSION, "mlsec parsers": SCANNER_VERSION}
    for name in ("picklescan", "modelscan", "fickling", "h5py", "onnx", "gguf", "protobuf", "model-signing"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


# --- entry point ------------------------------------------------------------------------------

def scan_artifact(real: str, display: str, allowances: Allowances | None = None,
                  limits: ResourceLimits | None = None) -> FileReport:
    """Classify one file and run every applicable parser and scanner on it, within ``limits``."""
    from . import formats

    report = FileReport(display, allowances=allowances or Allowances(), limits=limits or ResourceLimits())
    extra = dict(report.allowances.pickle_globals)
    base = os.path.basename(real).lower()
    ext = os.path.splitext(base)[1]
    if base in DATA_NAMES or (ext in DATA_EXT and base not in formats.NAMED_FORMATS):
        report.format = "data"
        return report
    size = os.path.getsize(real)
    with open(real, "rb") as handle:
        head = handle.read(16)
        handle.seek(0)
        kind = formats.sniff(base, ext, head)
        if kind is not None:
            report.format = kind
            formats.scan(kind, real, handle, size, report)
        elif ext == ".safetensors":
            report.format = "safetensors"
            _safetensors(handle, size, report)
        elif head.startswith(NPY_MAGIC):
            report.format = "npy"
            _npy(handle, 0, size, display, report, extra)
            _picklescan(real, report)
        elif head.startswith(ZIP_MAGICS):
            report.format = "zip"
            _zip(real, display, report, extra)
            _picklescan(real, report)
        elif (ext in TORCH_EXT or ext == ".tar") and _is_tar(handle):
            from .formats.torch_tar import scan_torch_tar

            report.format = "pytorch legacy tar"
            scan_torch_tar(real, report, extra)
        elif ext in TORCH_EXT or ext in PICKLE_EXT or ext == ".npy" or head[:2] in PICKLE_MAGICS:
            compression = next((name for magic, name in COMPRESSED_MAGICS if head.startswith(magic)), None)
            if compression and ext not in TORCH_EXT:
                report.format = f"pickle ({compression})"
                _compressed(handle, compression, display, report, extra)
            else:
                report.format = "pickle"
                pickle_stream(lambda: _window(handle, 0, size), display, report, extra,
                              torch=ext in TORCH_EXT, raw=(handle, 0, size))
                _picklescan(real, report)
        else:
            report.errors.append(f"unsupported artifact format '{ext or 'no extension'}': no scanner handles it")
    return report


def _is_tar(handle) -> bool:
    handle.seek(257)
    magic = handle.read(5)
    handle.seek(0)
    return magic == b"ustar"


def _window(handle, start: int, length: int):
    return BoundedReader(handle, start, length)


def pickle_stream(open_stream: Callable, name: str, report: FileReport, extra: Mapping[str, str],
                  torch: bool = False, raw: tuple | None = None, member: str = "") -> None:
    """The allow-list policy, modelscan and fickling over one pickle stream (all its pickles)."""
    where = f" (in {member})" if member else ""
    if report.capped:
        return
    if not _within_limits(open_stream, report, torch, where):
        return
    try:
        analysis = analyze_pickles(open_stream, legacy_torch=torch)
    except PickleParseError as exc:
        report.errors.append(f"opcode walk{where}: {exc}")
        report.opinion("allow-list", "could not parse")
        return
    report_analysis(report, analysis, extra, where)
    end = analysis.end
    if analysis.joblib_arrays:
        report.notes.append("modelscan and fickling cannot read joblib's in-stream array data; the policy did")
        report.opinion("modelscan", "could not parse")
        report.opinion("fickling", "could not parse")
        return
    with open_stream() as stream:
        second_opinion(report, _modelscan(name, BoundedReader(stream, 0, end)), "modelscan")
    if analysis.opcodes > FICKLING_MAX_OPCODES or end > FICKLING_MAX_BYTES:
        report.notes.append(f"fickling skipped ({analysis.opcodes} opcodes)")
        report.opinion("fickling", "skipped")
    else:
        with open_stream() as stream:
            second_opinion(report, _fickling(stream.read(end)), "fickling")


def _within_limits(open_stream: Callable, report: FileReport, torch: bool, where: str) -> bool:
    """A streaming opcode walk that stops at the caps before anything that keeps opcodes in memory runs.

    A stream it cannot read to the end (joblib's in-stream array data, raw tensor bytes) is left to
    the policy walk, which knows those layouts and reports what it cannot parse.
    """
    limits = report.limits
    try:
        with open_stream() as stream:
            walk_pickles(stream, legacy_torch=torch, max_opcodes=limits.max_pickle_opcodes,
                         max_bytes=limits.max_decompressed_bytes)
    except ScanLimitExceeded as exc:
        report.cap(f"{exc}{where}")
        return False
    except PickleWalkError:
        return True
    report.scanned_by.add("opcode-walk")
    return True


def report_analysis(report: FileReport, analysis, extra: Mapping[str, str], where: str = "") -> None:
    """The allow-list policy's verdict on one walked stream, into the report."""
    report.scanned_by.add("allow-list policy")
    verdict = evaluate(analysis, extra)
    report.imports |= set(analysis.imports)
    report.allowed_by_team |= {n for n, how in verdict.allowed.items() if how == "team"}
    for finding in verdict.findings:
        if finding.name in analysis.imports:
            report.flag(finding.name, "allow-list", finding.severity, finding.reason, finding.forms)
        else:
            report.add(finding.severity, f"{finding.name} in {report.display}{where}", finding.reason)
    report.opinion("allow-list", "dangerous" if verdict.dangerous else "clean")
    if analysis.joblib_arrays:
        report.notes.append(f"{analysis.joblib_arrays} joblib array record(s) read as joblib.load reads them")


def second_opinion(report: FileReport, outcome: ScanOutcome, scanner: str) -> None:
    counted = False
    for callable_name, scanners in outcome.dangerous.items():
        for who in scanners:
            if (who, callable_name) in KNOWN_SCANNER_FALSE_POSITIVES:
                report.notes.append(f"{who} reports {callable_name}: not counted "
                                    f"({KNOWN_SCANNER_FALSE_POSITIVES[(who, callable_name)]})")
                continue
            report.flag(callable_name, who, "critical", "reported dangerous by a maintained scanner")
            counted = True
    report.notes += outcome.notes
    if counted:
        report.opinion(scanner, "dangerous")
    elif outcome.errors:
        report.opinion(scanner, "could not parse")
        report.notes += [scrub(e, 200) for e in outcome.errors]
    elif outcome.scanned_by:
        report.opinion(scanner, "clean")
        report.scanned_by |= outcome.scanned_by
    else:
        report.opinion(scanner, "skipped")


def _modelscan(name, stream) -> ScanOutcome:
    from .pickle_scan import modelscan_pickle

    return modelscan_pickle(name, stream)


def _fickling(data: bytes) -> ScanOutcome:
    from .pickle_scan import fickling_bytes

    return fickling_bytes(data)


def _picklescan(path: str, report: FileReport) -> None:
    from .pickle_scan import picklescan_file

    if report.capped:  # picklescan reads whole members into memory: only within the limits
        report.opinion("picklescan", "skipped")
        report.notes.append("picklescan, modelscan and fickling skipped: a scanning limit was exceeded")
        return
    second_opinion(report, picklescan_file(path), "picklescan")


def _safetensors(handle, size: int, report: FileReport) -> None:
    try:
        validate_safetensors(handle, size)
        report.scanned_by.add("safetensors-header")
    except FormatError as exc:
        report.errors.append(f"invalid safetensors file: {exc}")


def _npy(raw, start: int, length: int, name: str, report: FileReport, extra, member: str = "") -> None:
    reader = BoundedReader(raw, start, length)
    try:
        header = read_npy_header(reader)
    except FormatError as exc:
        report.errors.append(f"invalid .npy file{f' ({member})' if member else ''}: {exc}")
        return
    report.scanned_by.add("npy-header")
    if header.has_object:
        offset = start + header.data_offset
        pickle_stream(lambda: BoundedReader(raw, offset, length - header.data_offset), name, report, extra,
                      member=member)
        return
    expected = header.data_offset + header.itemsize * _prod(header.shape)
    if expected != length:
        report.errors.append(f"invalid .npy file: header announces {expected} bytes, file has {length}")


def _prod(shape) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def _zip(real: str, display: str, report: FileReport, extra) -> None:
    scannable = 0
    limits = report.limits
    try:
        with zipfile.ZipFile(real) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            if len(members) > limits.max_archive_members:
                report.cap(f"{len(members):,} archive members (at most {limits.max_archive_members:,} are read)")
                return
            for info in members:
                member = f"{display}:{info.filename}"
                with archive.open(info) as handle:
                    head = handle.read(8)
                lower = info.filename.lower()
                if head.startswith(ZIP_MAGICS):
                    report.errors.append(f"nested archive {safe_name(info.filename)} is not scanned")
                    continue
                is_npy = lower.endswith(".npy") or head.startswith(NPY_MAGIC)
                is_pickle = lower.endswith((".pkl", ".pickle")) or head[:2] in PICKLE_MAGICS
                if not (is_npy or is_pickle):
                    continue
                scannable += 1
                shown = safe_name(info.filename)
                if is_pickle and info.file_size > limits.max_decompressed_bytes:
                    report.cap(f"member {shown} unpacks to {info.file_size:,} bytes (at most "
                               f"{limits.max_decompressed_bytes:,} are scanned)")
                    continue
                if is_npy:
                    with archive.open(info) as handle:
                        _npy(handle, 0, info.file_size, member, report, extra, member=shown)
                else:
                    pickle_stream(_member_opener(archive, info), member, report, extra, member=shown)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, EOFError) as exc:
        report.errors.append(f"zip archive unreadable ({type(exc).__name__})")
        return
    if scannable == 0:
        report.errors.append("zip archive holds no pickle or NumPy member to scan (unsupported layout)")


def _member_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo):
    def open_member():
        return BoundedReader(archive.open(info), 0, info.file_size)

    return open_member


_DECOMPRESSORS = {"gzip": lambda f: gzip.GzipFile(fileobj=f, mode="rb"), "bz2": lambda f: bz2.BZ2File(f, "rb"),
                  "xz": lambda f: lzma.LZMAFile(f, "rb"), "lzma": lambda f: lzma.LZMAFile(f, "rb")}


@contextmanager
def _decompressed(handle, compression: str):
    if compression in _DECOMPRESSORS:
        handle.seek(0)
        stream = _DECOMPRESSORS[compression](handle)
        try:
            yield stream
        finally:
            stream.close()
        return
    # zlib: plain (joblib's "zlib" compressor) or joblib's old "ZF" files (ZF + 10-byte length + zlib data)
    handle.seek(0)
    if compression == "joblib-zlib":
        handle.read(2 + 10)
    yield _ZlibReader(handle)


class _ZlibReader(io.RawIOBase):
    def __init__(self, raw) -> None:
        super().__init__()
        self._raw, self._z, self._buf = raw, zlib.decompressobj(), b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buf:
            chunk = self._raw.read(1 << 16)
            if not chunk:
                self._buf = self._z.flush()
                if not self._buf:
                    return 0
                break
            self._buf = self._z.decompress(chunk, 1 << 20)
            if self._z.unconsumed_tail:
                self._buf += self._z.decompress(self._z.unconsumed_tail, 1 << 20)
        n = min(len(target), len(self._buf))
        target[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _compressed(handle, compression: str, display: str, report: FileReport, extra) -> None:
    """joblib's compressed dumps: decompress into a bounded spool file, then scan that as a pickle."""
    with tempfile.TemporaryFile(prefix="mlsec-decompressed-") as spool:
        try:
            with _decompressed(handle, compression) as stream:
                total = 0
                while chunk := stream.read(1 << 20):
                    total += len(chunk)
                    if total > report.limits.max_decompressed_bytes:
                        report.cap(f"decompresses to more than {report.limits.max_decompressed_bytes:,} bytes")
                        return
                    spool.write(chunk)
        except (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError) as exc:
            report.errors.append(f"{compression} data does not decompress ({type(exc).__name__})")
            return
        spool.flush()
        report.scanned_by.add(f"{compression} decompression")
        report.opinion("picklescan", "skipped")
        report.notes.append("picklescan does not decompress joblib files; the policy, modelscan and fickling "
                            "read the decompressed stream")
        pickle_stream(lambda: BoundedReader(spool, 0, total), display, report, extra)
