"""Strict structural check of a bundle ZIP: every byte outside the members' data must be accounted for.

Why: the signed manifest covers the *contents* of the members, but a ZIP also has headers, a central
directory and an end record. Python's zipfile ignores most of their fields (timestamps, attributes,
comments, data before the first member or after the end record), so a copy with one of those bytes
changed would still read back the same. "verify_bundle exits 0 only for an untouched bundle" means
that copy must fail too. `build_bundle` always writes the same canonical layout, and this module
checks a file against it:

- members are contiguous from offset 0, each a local header, its data, and (when the writer could
  not seek back) a data descriptor; the central directory follows immediately, then a 22-byte end
  record with no comment, ending exactly at the end of the file (no ZIP64, one disk);
- every field of a local header equals the same field of its central directory entry (name, flags,
  method, time, date, CRC and sizes, or the data descriptor's when flag bit 3 is set);
- the fields that exist only in the central directory have the fixed values build_bundle writes:
  made by Unix/2.0, needs 2.0, no extra fields, no comments, mode 0644, UTF-8 flag iff non-ASCII.

What remains is each member's compressed data. `read_member` inflates it itself instead of trusting
zipfile, which stops at the member's last byte without checking that the deflate stream ends there:
a changed last byte would go unnoticed. It insists that the stream ends exactly at the member's
end, that the padding bits of its last byte are zero (as zlib writes them), that the CRC-32 matches,
and it never inflates more than the expected size (zip bombs). The SHA-256 in the signed manifest
then covers the content. Two changes still cannot be seen, and neither alters any file's content: the
padding bits that a deflate *stored* block header may leave before its byte boundary, in the middle of a
member (inflate ignores them), and a re-spelling of the compressed data that inflates to the same bytes
(a back-reference pointed at an equal string at another distance).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO

# scripts/verify_bundle.py holds a deliberate copy of this layout check (it must run without the portal
# installed, for auditors); a change to the canonical layout changes both.
EOCD = struct.Struct("<4s4H2LH")  # signature, disk, cd disk, entries on disk, entries, cd size, cd offset, comment
CENTRAL = struct.Struct("<4s6H3L5H2L")
LOCAL = struct.Struct("<4s5H3L2H")
DESCRIPTOR = struct.Struct("<4s3L")
MADE_BY = (3 << 8) | 20  # Unix, ZIP 2.0 — what build_bundle sets
NEEDS = 20
MODE = 0o100644 << 16
UTF8, DATA_DESCRIPTOR = 0x800, 0x8


def check_layout(f: BinaryIO) -> list[str]:
    """Problems with the ZIP structure of the seekable binary file `f` (empty list: canonical)."""
    size = f.seek(0, 2)
    if size < EOCD.size:
        return ["the file is too short to be a ZIP archive"]
    f.seek(size - EOCD.size)
    sig, disk, cd_disk, on_disk, total, cd_size, cd_offset, comment = EOCD.unpack(f.read(EOCD.size))
    if sig != b"PK\x05\x06":
        return ["no end-of-central-directory record at the very end of the file (truncated, or bytes appended)"]
    problems = []
    if disk or cd_disk or on_disk != total or comment:
        problems.append("the end record has disk numbers, a comment or inconsistent entry counts")
    if cd_offset + cd_size != size - EOCD.size:
        return problems + ["the central directory does not end where the end record starts"]
    f.seek(cd_offset)
    cd = f.read(cd_size)
    pos, expected = 0, 0
    for index in range(total):
        if pos + CENTRAL.size > len(cd):
            return problems + [f"central directory entry {index} is cut short"]
        (sig, made_by, needs, flags, method, time, date, crc, csize, usize, name_len, extra_len, comment_len,
         disk_start, internal, external, offset) = CENTRAL.unpack_from(cd, pos)
        raw_name = cd[pos + CENTRAL.size: pos + CENTRAL.size + name_len]
        pos += CENTRAL.size + name_len + extra_len + comment_len
        label = raw_name.decode("utf-8", "replace")
        if sig != b"PK\x01\x02" or pos > len(cd):
            return problems + [f"central directory entry {index} is malformed"]
        if (made_by, needs, extra_len, comment_len, disk_start, internal, external) != (
                MADE_BY, NEEDS, 0, 0, 0, 0, MODE):
            problems.append(f"{label}: central directory fields differ from the bundle's canonical values")
        if flags & ~(UTF8 | DATA_DESCRIPTOR) or method not in (0, 8):
            problems.append(f"{label}: unexpected flags or compression method")
        if bool(flags & UTF8) != (not raw_name.isascii()):
            problems.append(f"{label}: the UTF-8 name flag does not match the name")
        if offset != expected:
            problems.append(f"{label}: member does not start right after the previous one (offset {offset})")
        f.seek(offset)
        header = f.read(LOCAL.size)
        if len(header) < LOCAL.size:
            return problems + [f"{label}: local header is cut short"]
        (lsig, lneeds, lflags, lmethod, ltime, ldate, lcrc, lcsize, lusize, lname_len, lextra_len) = LOCAL.unpack(header)
        lname = f.read(lname_len)
        if (lsig, lneeds, lflags, lmethod, ltime, ldate, lname, lextra_len) != (
                b"PK\x03\x04", needs, flags, method, time, date, raw_name, 0):
            problems.append(f"{label}: local header differs from its central directory entry")
        end = offset + LOCAL.size + lname_len + lextra_len + csize
        if flags & DATA_DESCRIPTOR:
            f.seek(end)
            descriptor = f.read(DESCRIPTOR.size)
            if len(descriptor) < DESCRIPTOR.size or DESCRIPTOR.unpack(descriptor) != (b"PK\x07\x08", crc, csize, usize) \
                    or (lcrc, lcsize, lusize) != (0, 0, 0):
                problems.append(f"{label}: data descriptor differs from its central directory entry")
            end += DESCRIPTOR.size
        elif (lcrc, lcsize, lusize) != (crc, csize, usize):
            problems.append(f"{label}: local header CRC or sizes differ from the central directory")
        expected = end
    if pos != len(cd):
        problems.append("the central directory holds bytes beyond its entries")
    if expected != cd_offset:
        problems.append("bytes between the last member and the central directory are unaccounted for")
    return problems


def read_member(f: BinaryIO, header_offset: int, compress_size: int, method: int, crc: int, limit: int,
                sink: Callable[[bytes], object], chunk: int = 1 << 20) -> None:
    """Inflate one member from its raw bytes into `sink`; ValueError unless it is exactly as written.

    `limit` is the size the member must have: inflating stops (ValueError) once it is exceeded.
    """
    f.seek(header_offset)
    header = f.read(LOCAL.size)
    if len(header) < LOCAL.size:
        raise ValueError("local header cut short")
    name_len, extra_len = LOCAL.unpack(header)[-2:]
    f.seek(header_offset + LOCAL.size + name_len + extra_len)
    state = {"size": 0, "crc": 0}

    def take(data: bytes) -> None:
        state["size"] += len(data)
        if state["size"] > limit:
            raise ValueError("member inflates beyond its expected size")
        state["crc"] = zlib.crc32(data, state["crc"])
        sink(data)

    def raw(n: int) -> bytes:
        data = f.read(n)
        if len(data) != n:
            raise ValueError("member data cut short")
        return data

    if method == 0:
        left = compress_size
        while left:
            take(raw(min(chunk, left)))
            left -= min(chunk, left)
    elif method == 8:
        if compress_size < 1:
            raise ValueError("empty deflate stream")
        inflater, left = zlib.decompressobj(-15), compress_size - 1
        while left:
            data = raw(min(chunk, left))
            left -= len(data)
            take(inflater.decompress(data, limit - state["size"] + 1))
            if inflater.unconsumed_tail or inflater.eof:
                raise ValueError("deflate stream larger than expected, or ending before the member does")
        last = raw(1)[0]
        final = inflater.copy()
        out = final.decompress(bytes([last]), limit - state["size"] + 1)
        if not final.eof or final.unused_data or final.unconsumed_tail:
            raise ValueError("deflate stream does not end exactly at the end of the member")
        for bit in range(8):  # a bit whose value changes nothing is padding, and zlib writes padding as 0
            if last >> bit & 1:
                probe = inflater.copy()
                try:
                    ignored = probe.decompress(bytes([last ^ (1 << bit)])) == out and probe.eof and not probe.unused_data
                except zlib.error:
                    ignored = False
                if ignored:
                    raise ValueError("non-zero padding bits after the deflate stream")
        take(out)
    else:
        raise ValueError(f"unsupported compression method {method}")
    if state["size"] != limit or state["crc"] != crc:
        raise ValueError("member size or CRC-32 differs from the ZIP directory")
