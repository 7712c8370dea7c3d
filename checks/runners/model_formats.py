"""Header-level readers for model formats that need no scanner: safetensors and ``.npy``.

Both formats are parsed from their documented headers only; no tensor data
is materialised and nothing is deserialised.  A header that contradicts the
file size means a corrupt or tampered file, which the check reports as
undecidable rather than clean.
"""

from __future__ import annotations

import ast
import json
import math
import struct
from dataclasses import dataclass
from typing import IO

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
PICKLE_MAGICS = tuple(bytes([0x80, p]) for p in range(2, 6))

_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
_MAX_NPY_HEADER = 100_000
# bits per element; sub-byte float formats are packed
_ST_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}


class FormatError(ValueError):
    """The file does not match its format's header rules."""


def validate_safetensors(stream: IO[bytes], size: int) -> int:
    """Validate a safetensors header against the file size; returns the tensor count.

    Layout: 8-byte little-endian header length N, N bytes of JSON (an object
    mapping tensor names to dtype/shape/data_offsets, plus optional
    ``__metadata__`` of strings), then the data section whose tensors must
    tile it exactly.
    """
    if size < 8:
        raise FormatError("shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", stream.read(8))
    if length == 0 or length > min(size - 8, _MAX_SAFETENSORS_HEADER):
        raise FormatError(f"header length {length} is inconsistent with the file size {size}")
    raw = stream.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"header is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object")
    data_len = size - 8 - length
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise FormatError("__metadata__ must map strings to strings")
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise FormatError("a tensor entry lacks dtype, shape or data_offsets") from None
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise FormatError("a tensor shape is not a list of non-negative integers")
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= data_len):
            raise FormatError("tensor data offsets fall outside the data section")
        bits = _ST_BITS.get(dtype)
        if bits is not None and math.ceil(math.prod(shape) * bits / 8) != end - begin:
            raise FormatError("a tensor's byte size does not match its dtype and shape")
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise FormatError("tensor data is not contiguous")
        position = end
    if position != data_len:
        raise FormatError("the data section is larger or smaller than the tensors it holds")
    return len(spans)


@dataclass(frozen=True)
class NpyHeader:
    data_offset: int
    has_object: bool
    shape: tuple[int, ...]
    itemsize: int


def read_npy_header(stream: IO[bytes]) -> NpyHeader:
    """Parse an ``.npy`` header (versions 1–3) without NumPy's loader.

    The header dict is read with :func:`ast.literal_eval` (literals only,
    as NumPy itself does) and the dtype built from its ``descr``.
    """
    import numpy as np

    if stream.read(6) != NPY_MAGIC:
        raise FormatError("missing the NumPy magic string")
    version = stream.read(2)
    if len(version) != 2 or version[0] not in (1, 2, 3):
        raise FormatError("unsupported .npy format version")
    wide = version[0] >= 2
    raw_len = stream.read(4 if wide else 2)
    if len(raw_len) != (4 if wide else 2):
        raise FormatError("truncated .npy header")
    (length,) = struct.unpack("<I" if wide else "<H", raw_len)
    if length > _MAX_NPY_HEADER:
        raise FormatError("implausibly large .npy header")
    raw = stream.read(length)
    if len(raw) != length:
        raise FormatError("truncated .npy header")
    try:
        header = ast.literal_eval(raw.decode("utf-8" if version[0] == 3 else "latin1"))
        dtype = np.lib.format.descr_to_dtype(header["descr"])
        shape = tuple(int(d) for d in header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError, MemoryError, RecursionError) as exc:
        raise FormatError(f"unreadable .npy header ({type(exc).__name__})") from None
    return NpyHeader(6 + 2 + len(raw_len) + length, bool(dtype.hasobject), shape, int(dtype.itemsize))
