"""Static pickle analysis: our own opcode walk plus picklescan, modelscan and fickling adapters.

Nothing in this module ever unpickles.  Every scanner only disassembles the
opcode stream.  The scanners disagree on what they report when they cannot
parse a file (picklescan 1.0.5 returns *no issues and no error* for garbage,
modelscan's legacy-PyTorch scanner only looks at the magic-number pickle,
fickling flags every NumPy pickle as "likely unsafe"), so the check combines
them on fixed terms:

* a dangerous global reported by **any** scanner is dangerous;
* a file is parseable only if :func:`walk_pickles` (``pickletools.genops``)
  reads complete pickles to the end of the stream *and* picklescan and
  modelscan report no scan error; otherwise the file is undecidable;
* fickling is a third opinion on dangerous callables only (its lower-grade
  warnings fire on every NumPy array and are recorded, not acted on).
"""

from __future__ import annotations

import io
import pickletools
import re
from dataclasses import dataclass, field
from typing import IO

TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER (legacy format)
FICKLING_MAX_BYTES = 16 * 1024 * 1024
FICKLING_MAX_OPCODES = 250_000  # its symbolic interpreter needs ~5 s per million opcodes

class PickleWalkError(ValueError):
    """The bytes are not a sequence of complete pickles."""


class ScanLimitExceeded(PickleWalkError):
    """The stream is larger than the scanners may be given (opcodes or bytes): undecidable."""


class BoundedReader(io.RawIOBase):
    """A read-only window on a stream that never asks for more than remains.

    ``pickletools.genops`` trusts length prefixes; a corrupt ``BINBYTES8``
    claiming 2**60 bytes would otherwise make ``read`` allocate that much.
    The position is tracked here (no ``tell`` per read) because genops reads
    opcode by opcode.
    """

    def __init__(self, raw: IO[bytes], start: int = 0, length: int | None = None) -> None:
        super().__init__()
        self._raw, self._start = raw, start
        if length is None:
            raw.seek(0, io.SEEK_END)
            self._end = raw.tell()
        else:  # trust the caller's size (file size, zip member size): seeking a deflated member to its end is costly
            self._end = start + length
        self._pos = raw.seek(start) if raw.seekable() else start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos - self._start

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: self._start, io.SEEK_CUR: self._pos, io.SEEK_END: self._end}[whence]
        self._pos = min(max(base + offset, self._start), self._end)
        self._raw.seek(self._pos)
        return self._pos - self._start

    def read(self, size: int = -1) -> bytes:
        remaining = self._end - self._pos
        data = self._raw.read(remaining if size is None or size < 0 or size > remaining else size)
        self._pos += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:  # text opcodes (protocol 0) read lines
        remaining = self._end - self._pos
        data = self._raw.readline(remaining if size is None or size < 0 or size > remaining else size)
        self._pos += len(data)
        return data


def walk_pickles(stream: IO[bytes], count: int | None = None, legacy_torch: bool = False,
                 max_opcodes: int | None = None, max_bytes: int | None = None) -> tuple[int, bool, int]:
    """Disassemble consecutive pickles with :func:`pickletools.genops`.

    With ``count`` None, every byte up to EOF must belong to a complete pickle;
    otherwise exactly ``count`` complete pickles must be read (the legacy
    PyTorch format stores raw tensor bytes after them; with ``legacy_torch``
    a first pickle holding the magic number switches to exactly 5 pickles:
    magic, protocol, sys_info, object, storage keys).  Returns the number of
    pickles, whether the first one is the legacy PyTorch magic number, and the
    number of opcodes read.

    ``max_opcodes`` and ``max_bytes`` stop the walk with :class:`ScanLimitExceeded` as soon as
    the stream holds more than the other scanners (which keep every opcode in memory) may be
    given. Error texts name positions and exception types, never the bytes read: a file that is
    not a pickle may be a key or a configuration file.
    """
    pickles, first_is_magic, opcodes = 0, False, 0
    position = 0
    while count is None or pickles < count:
        if not stream.read(1):
            break
        stream.seek(-1, io.SEEK_CUR)
        ints = []
        try:
            for opcode, arg, pos in pickletools.genops(stream):
                opcodes += 1
                position = pos or position
                if max_opcodes is not None and opcodes > max_opcodes:
                    raise ScanLimitExceeded(f"more than {max_opcodes:,} pickle opcodes (the scanning limit)")
                if max_bytes is not None and position > max_bytes:
                    raise ScanLimitExceeded(f"a pickle stream larger than {max_bytes:,} bytes (the scanning limit)")
                if pickles == 0 and isinstance(arg, int) and opcode.name in ("LONG1", "LONG4", "LONG", "INT"):
                    ints.append(arg)
        except ScanLimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - genops raises ValueError, garbage can raise others
            raise PickleWalkError(f"pickle #{pickles + 1} does not parse near byte {position} "
                                  f"({type(exc).__name__})") from None
        if pickles == 0:
            first_is_magic = ints == [TORCH_MAGIC]
            if first_is_magic and legacy_torch:
                count = 5
        pickles += 1
    if pickles == 0:
        raise PickleWalkError("no pickle data")
    if count is not None and pickles < count:
        raise PickleWalkError(f"expected {count} pickles, found {pickles}")
    return pickles, first_is_magic, opcodes


@dataclass
class ScanOutcome:
    """What the scanners said about one pickle stream or file."""

    dangerous: dict[str, set[str]] = field(default_factory=dict)  # callable -> scanners
    suspicious: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    scanned_by: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    capped: bool = False  # a scanning limit was hit: the other scanners were not given the stream

    def flag(self, callable_name: str, scanner: str) -> None:
        self.dangerous.setdefault(callable_name, set()).add(scanner)

    def merge(self, other: ScanOutcome) -> None:
        for name, scanners in other.dangerous.items():
            self.dangerous.setdefault(name, set()).update(scanners)
        self.suspicious |= other.suspicious
        self.errors += other.errors
        self.scanned_by |= other.scanned_by
        self.notes += other.notes
        self.capped = self.capped or other.capped


def picklescan_file(path: str) -> ScanOutcome:
    """picklescan over a whole file (it dispatches on extension and magic itself)."""
    from picklescan.scanner import SafetyLevel, scan_file_path

    out = ScanOutcome()
    try:
        result = scan_file_path(path)
    except Exception as exc:  # noqa: BLE001 - any scanner failure means undecidable, not a crash
        out.errors.append(f"picklescan could not scan it ({type(exc).__name__})")
        return out
    for item in result.globals:
        name = f"{item.module}.{item.name}"
        if item.safety == SafetyLevel.Dangerous:
            out.flag(name, "picklescan")
        elif item.safety == SafetyLevel.Suspicious:
            out.suspicious.add(name)
    if result.scan_err:
        out.errors.append("picklescan reported a parse error")
    elif result.scanned_files == 0:
        out.errors.append("picklescan scanned nothing")
    else:
        out.scanned_by.add("picklescan")
    return out


def modelscan_pickle(name: str, stream: IO[bytes], offset: int = 0) -> ScanOutcome:
    """modelscan's pickle engine over one stream (all consecutive pickles from ``offset``).

    Used instead of ``ModelScan().scan`` for pickle data because modelscan
    0.8.8's NumPy scanner crashes with NumPy 2 (``_check_version``) and its
    legacy-PyTorch scanner only disassembles the magic-number pickle.
    """
    import modelscan.scanners  # noqa: F401  (initialises modelscan's circular imports in the right order)
    from modelscan.model import Model
    from modelscan.settings import DEFAULT_SETTINGS
    from modelscan.tools.picklescanner import scan_pickle_bytes

    out = ScanOutcome()
    try:
        results = scan_pickle_bytes(Model(name, stream), DEFAULT_SETTINGS, "pickle", True, offset)
    except Exception as exc:  # noqa: BLE001 - any scanner failure means undecidable, not a crash
        out.errors.append(f"modelscan could not scan it ({type(exc).__name__})")
        return out
    for issue in results.issues:
        out.flag(f"{issue.details.module}.{issue.details.operator}", "modelscan")
    if results.errors:  # modelscan's messages quote the parser's exception, which can quote the file
        out.errors.append(f"modelscan reported {len(results.errors)} parse error(s)")
    else:
        out.scanned_by.add("modelscan")
    return out


def modelscan_file(path: str) -> ScanOutcome:
    """``ModelScan().scan`` for the formats only modelscan handles (Keras, HDF5, SavedModel)."""
    from modelscan.modelscan import ModelScan

    out = ScanOutcome()
    try:
        scanner = ModelScan()
        scanner.scan(path)
    except Exception as exc:  # noqa: BLE001 - any scanner failure means undecidable, not a crash
        out.errors.append(f"modelscan could not scan it ({type(exc).__name__})")
        return out
    for issue in scanner.issues.all_issues:
        out.flag(f"{issue.details.module}.{issue.details.operator}", "modelscan")
    if scanner.errors:
        out.errors.append(f"modelscan reported {len(scanner.errors)} error(s)")
    if not scanner.scanned and not out.dangerous:
        reasons = "; ".join(sorted({s.message.split(":")[0] for s in scanner.skipped})) or "no scanner accepted the file"
        out.errors.append(f"modelscan did not scan it ({reasons[:200]})")
    elif not scanner.errors:
        out.scanned_by.add("modelscan")
    return out


_IMPORT = re.compile(r"^from\s+([\w.]+)\s+import\s+([\w.]+)")
_CALL = re.compile(r"^([\w.]+)\(")


def fickling_bytes(data: bytes) -> ScanOutcome:
    """fickling's static analysis; only its (likely) overtly-malicious verdicts *that name a callable* count.

    fickling also reports "ResourceExhaustion" at LIKELY_OVERTLY_MALICIOUS for
    any large benign pickle (millions of opcodes); such verdicts are kept as
    notes, not as dangerous callables.
    """
    from fickling.analysis import Severity, check_safety
    from fickling.fickle import StackedPickle

    out = ScanOutcome()
    if len(data) > FICKLING_MAX_BYTES:
        out.notes.append(f"fickling skipped (stream larger than {FICKLING_MAX_BYTES // 2**20} MiB)")
        return out
    try:
        stacked = StackedPickle.load(io.BytesIO(data), fail_on_decode_error=False)
        for pickled in stacked:
            for result in check_safety(pickled).results:
                if result.severity < Severity.LIKELY_OVERTLY_MALICIOUS:
                    continue
                trigger = str(result.trigger or "")
                match = _IMPORT.match(trigger)
                call = _CALL.match(trigger)
                label = f"{match.group(1)}.{match.group(2)}" if match else (call.group(1) if call else "")
                if label:
                    out.flag(label, "fickling")
                else:
                    out.notes.append(f"fickling: {result.analysis_name or 'warning'} (not counted)")
    except Exception as exc:  # noqa: BLE001 - any scanner failure means undecidable, not a crash
        out.notes.append(f"fickling could not analyse it ({type(exc).__name__})")
        return out
    out.scanned_by.add("fickling")
    return out
