"""PyTorch's oldest format (before 0.4): a tar of ``sys_info``, ``pickle``, ``storages`` and ``tensors``.

``sys_info`` and ``pickle`` are plain pickles.  ``storages`` is a count pickle, then per storage an
``(key, location, storage_type)`` pickle, an int64 element count and the raw elements, then a pickle of
storage views; ``tensors`` is a count pickle, then per tensor a ``(key, storage_id, type)`` pickle and
a fixed binary record.  Every pickle is walked by the allow-list policy (the storage type is an import,
so a hostile file could name anything there); the raw parts are skipped by their sizes exactly as
``torch.serialization`` reads them.  Anything inconsistent is an error.
"""

from __future__ import annotations

import struct
import tarfile

from ..pickle_policy import Analysis, Global, PickleParseError, analyze_pickles
from ..pickle_scan import BoundedReader

ELEMENT_SIZES = {"Double": 8, "Float": 4, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4, "Short": 2, "Char": 1,
                 "Byte": 1, "Bool": 1, "ComplexFloat": 8, "ComplexDouble": 16}
MAX_ENTRIES = 1_000_000


class _Sequence:
    """Consecutive pickles and raw records of one tar member."""

    def __init__(self, member, size: int) -> None:
        self.member, self.size, self.offset = member, size, 0
        self.analysis = Analysis()

    def pickle(self):
        start = self.offset
        one = analyze_pickles(lambda: BoundedReader(self.member, start, self.size - start), count=1)
        self.offset += one.end
        self.analysis.merge(one)
        self.analysis.pickles += 1
        self.analysis.opcodes += one.opcodes
        return one.last_value

    def skip(self, n: int) -> None:
        if n < 0 or self.offset + n > self.size:
            raise PickleParseError("a raw record runs past the end of its member")
        self.offset += n

    def read(self, n: int) -> bytes:
        self.member.seek(self.offset)
        data = self.member.read(n)
        if len(data) != n:
            raise PickleParseError("a raw record runs past the end of its member")
        self.offset += n
        return data


def _count(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ENTRIES:
        raise PickleParseError("an entry count is not a plausible integer")
    return value


def _storages(seq: _Sequence) -> None:
    for _ in range(_count(seq.pickle())):
        args = seq.pickle()
        kind = args[2] if isinstance(args, tuple) and len(args) == 3 else None
        if not isinstance(kind, Global) or not kind.name.startswith("torch.") or not kind.name.endswith("Storage"):
            raise PickleParseError("a storage record does not name a torch storage type")
        size = ELEMENT_SIZES.get(kind.name.rsplit(".", 1)[1].removesuffix("Storage"))
        if size is None:
            raise PickleParseError("unknown storage type")
        (numel,) = struct.unpack("<q", seq.read(8))
        seq.skip(numel * size)
    seq.pickle()  # storage views


def _tensors(seq: _Sequence) -> None:
    for _ in range(_count(seq.pickle())):
        seq.pickle()
        (ndim,) = struct.unpack("<i", seq.read(4))
        if not 0 <= ndim <= 64:
            raise PickleParseError("implausible tensor rank")
        seq.skip(4 + 16 * ndim + 8)


def scan_torch_tar(real: str, report, extra) -> None:
    from ..artifact_scan import report_analysis

    try:
        with tarfile.open(real, mode="r:") as archive:
            members = {m.name: m for m in archive.getmembers() if m.isfile()}
            if not {"sys_info", "pickle", "storages", "tensors"} <= set(members):
                report.errors.append("a tar file without the sys_info, pickle, storages and tensors of torch.save")
                return
            for name, walk in (("sys_info", None), ("pickle", None), ("storages", _storages), ("tensors", _tensors)):
                info = members[name]
                handle = archive.extractfile(info)
                seq = _Sequence(handle, info.size)
                try:
                    if walk is None:
                        seq.pickle()
                    else:
                        walk(seq)
                    if seq.offset != info.size:
                        raise PickleParseError("bytes left over after the records")
                except PickleParseError as exc:
                    report_analysis(report, seq.analysis, extra, f" (in {name})")  # what was read still counts
                    report.errors.append(f"opcode walk ({name}): {exc}")
                    report.opinion("allow-list", "could not parse")
                    return
                report_analysis(report, seq.analysis, extra, f" (in {name})")
    except (tarfile.TarError, OSError, EOFError) as exc:
        report.errors.append(f"tar archive unreadable ({type(exc).__name__})")
