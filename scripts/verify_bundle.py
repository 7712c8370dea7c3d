#!/usr/bin/env python3
r"""Verify an MLSec Portal export bundle offline: python3 verify_bundle.py BUNDLE.zip [--fingerprint SHA256:…]

Needs Python 3.10+ and the `cryptography` package, nothing else: it does not import the portal, so an
auditor can read all of it. Nothing is extracted to disk. Exit status:

    0  VERIFIED: every check passed and the key is the one given with --fingerprint
    1  NOT VERIFIED: a check failed (the bundle was changed, or is not a bundle)
    2  usage error
    3  NOT VERIFIED: signature valid, signer not checked -- every check passed but no --fingerprint
       was given, so nothing says who signed it: anyone can re-sign a forged bundle with a key of
       their own. Run again with the fingerprint from the portal's settings page.

Checks, in order:

1. the ZIP has the bundle's canonical layout: members contiguous from the first byte, every local
   header equal to its central directory entry, fixed attributes, no comment, nothing appended —
   so that a copy with any byte changed fails, not only one whose file contents changed;
2. no duplicate entries, no absolute or `..` paths;
3. manifest.json and manifest.sig exist; the manifest names format mlsec-portal-bundle/1, algorithm
   Ed25519, a 32-byte public key and its fingerprint (SHA256: + hex SHA-256 of the raw key);
4. manifest.sig is the base64 Ed25519 signature of the exact manifest.json bytes under that key;
5. public-key.pem holds that same key;
6. with --fingerprint (copy it from the portal's settings page): the key is that key. Without it the
   bundle is only shown to be self-consistent, which is never reported as VERIFIED (exit status 3);
7. every file the manifest lists is present with its SHA-256 and size, and no other file is present.

Without Python: the same checks with unzip, base64, openssl (3.0 or later), sha256sum, sed and diff
(the sed line relies on the manifest writing one file per line, which the portal always does):

    mkdir bundle && unzip -q BUNDLE.zip -d bundle && cd bundle
    base64 -d manifest.sig > ../manifest.sig.bin
    openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile ../manifest.sig.bin
        # prints "Signature Verified Successfully"
    openssl pkey -pubin -in public-key.pem -outform DER | tail -c 32 | sha256sum
        # the hex must equal the fingerprint on the portal's settings page (after "SHA256:"),
        # and the manifest's "public_key_fingerprint"
    openssl pkey -pubin -in public-key.pem -outform DER | tail -c 32 | base64
        # must equal the manifest's "public_key"
    sed -n 's/^    {"path": "\(.*\)", "sha256": "\([0-9a-f]\{64\}\)", "size": [0-9]*},\{0,1\}$/\2  \1/p' \
        manifest.json > ../SHA256SUMS
    sha256sum -c --strict --quiet ../SHA256SUMS && echo "all listed files match"
    find . -type f ! -name manifest.json ! -name manifest.sig | sed 's|^\./||' | LC_ALL=C sort > ../present
    cut -c67- ../SHA256SUMS | LC_ALL=C sort | diff - ../present && echo "no unlisted or missing files"

That route checks every file's content, but not the ZIP structure (step 1): unzip tolerates changes
to headers that do not alter the files.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import struct
import sys
import zipfile
import zlib
from collections import Counter

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover - the auditor's machine
    sys.exit("verify_bundle.py needs the 'cryptography' package: pip install cryptography")

# Deliberate copy: layout_problems and inflate below repeat reports/renderers/ziplayout.py
# (check_layout, read_member), which the portal uses on its own bundles. This script must run for an
# auditor who has only the ZIP and Python, without the portal installed, and must be short enough to
# read in full: it imports nothing of the project. A change to the bundle layout changes both.
FORMAT = "mlsec-portal-bundle/1"
OWN = ("manifest.json", "manifest.sig")
END = struct.Struct("<4s4H2LH")
CENTRAL = struct.Struct("<4s6H3L5H2L")
LOCAL = struct.Struct("<4s5H3L2H")
DESCRIPTOR = struct.Struct("<4s3L")


def layout_problems(f) -> list[str]:
    """Everything outside the members' compressed data must be exactly what the portal writes."""
    size = f.seek(0, 2)
    if size < END.size:
        return ["file too short to be a ZIP archive"]
    f.seek(size - END.size)
    sig, disk, cd_disk, on_disk, total, cd_size, cd_at, comment = END.unpack(f.read(END.size))
    if sig != b"PK\x05\x06":
        return ["no end record at the very end of the file (truncated or bytes appended)"]
    out = []
    if disk or cd_disk or on_disk != total or comment:
        out.append("end record: disk numbers, comment or entry counts are not canonical")
    if cd_at + cd_size != size - END.size:
        return out + ["central directory does not end where the end record starts"]
    f.seek(cd_at)
    cd, pos, next_member = f.read(cd_size), 0, 0
    for i in range(total):
        if pos + CENTRAL.size > len(cd):
            return out + [f"central directory entry {i} cut short"]
        fields = CENTRAL.unpack_from(cd, pos)
        sig, made, needs, flags, method, time, date, crc, csize, usize, nlen, xlen, clen, dstart, iattr, xattr, at = fields
        name = cd[pos + CENTRAL.size: pos + CENTRAL.size + nlen]
        pos += CENTRAL.size + nlen + xlen + clen
        shown = name.decode("utf-8", "replace")
        if sig != b"PK\x01\x02" or pos > len(cd):
            return out + [f"central directory entry {i} malformed"]
        if (made, needs, xlen, clen, dstart, iattr, xattr) != (0x314, 20, 0, 0, 0, 0, 0o100644 << 16):
            out.append(f"{shown}: central directory fields not canonical")
        if flags & ~0x808 or method not in (0, 8) or bool(flags & 0x800) == name.isascii():
            out.append(f"{shown}: flags or compression method not canonical")
        if at != next_member:
            out.append(f"{shown}: does not start right after the previous member")
        f.seek(at)
        head = f.read(LOCAL.size)
        if len(head) < LOCAL.size:
            return out + [f"{shown}: local header cut short"]
        lsig, lneeds, lflags, lmethod, ltime, ldate, lcrc, lcsize, lusize, lnlen, lxlen = LOCAL.unpack(head)
        if (lsig, lneeds, lflags, lmethod, ltime, ldate, f.read(lnlen), lxlen) != (
                b"PK\x03\x04", needs, flags, method, time, date, name, 0):
            out.append(f"{shown}: local header differs from the central directory")
        next_member = at + LOCAL.size + lnlen + lxlen + csize
        if flags & 0x8:
            f.seek(next_member)
            desc = f.read(DESCRIPTOR.size)
            if len(desc) != DESCRIPTOR.size or DESCRIPTOR.unpack(desc) != (b"PK\x07\x08", crc, csize, usize) \
                    or (lcrc, lcsize, lusize) != (0, 0, 0):
                out.append(f"{shown}: data descriptor differs from the central directory")
            next_member += DESCRIPTOR.size
        elif (lcrc, lcsize, lusize) != (crc, csize, usize):
            out.append(f"{shown}: local CRC or sizes differ from the central directory")
    if pos != len(cd):
        out.append("central directory holds extra bytes")
    if next_member != cd_at:
        out.append("unaccounted bytes before the central directory")
    return out


def inflate(f, info: zipfile.ZipInfo, sink) -> None:
    """Read a member from its raw bytes, insisting it is exactly as written (zipfile is more lenient:
    it stops at the member's last byte without checking that the deflate stream ends there)."""
    f.seek(info.header_offset)
    head = f.read(LOCAL.size)
    if len(head) != LOCAL.size:
        raise ValueError("local header cut short")
    f.seek(info.header_offset + LOCAL.size + sum(LOCAL.unpack(head)[-2:]))
    size, crc, left = 0, 0, info.compress_size

    def take(data: bytes) -> None:
        nonlocal size, crc
        size += len(data)
        if size > info.file_size:
            raise ValueError("inflates beyond its size")
        crc = zlib.crc32(data, crc)
        sink(data)

    def raw(n: int) -> bytes:
        data = f.read(n)
        if len(data) != n:
            raise ValueError("data cut short")
        return data

    if info.compress_type == 0:
        while left:
            take(raw(min(1 << 20, left)))
            left -= min(1 << 20, left)
    elif info.compress_type == 8 and left:
        inflater = zlib.decompressobj(-15)
        left -= 1
        while left:
            data = raw(min(1 << 20, left))
            left -= len(data)
            take(inflater.decompress(data, info.file_size - size + 1))
            if inflater.unconsumed_tail or inflater.eof:
                raise ValueError("deflate stream too large or ending early")
        last = raw(1)[0]
        final = inflater.copy()
        out = final.decompress(bytes([last]), info.file_size - size + 1)
        if not final.eof or final.unused_data or final.unconsumed_tail:
            raise ValueError("deflate stream does not end exactly at the end of the member")
        for bit in range(8):  # bits whose value changes nothing are padding, which zlib writes as 0
            if last >> bit & 1:
                probe = inflater.copy()
                try:
                    same = probe.decompress(bytes([last ^ 1 << bit])) == out and probe.eof and not probe.unused_data
                except zlib.error:
                    same = False
                if same:
                    raise ValueError("non-zero padding bits after the deflate stream")
        take(out)
    else:
        raise ValueError("unsupported compression")
    if size != info.file_size or crc != info.CRC:
        raise ValueError("size or CRC-32 differs from the ZIP directory")


def read_small(f, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > 16 << 20:
        raise ValueError("implausibly large")
    parts: list[bytes] = []
    inflate(f, info, parts.append)
    return b"".join(parts)


def unsafe(name: str) -> bool:
    parts = name.split("/")
    return (name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name) is not None
            or any(p in ("", ".", "..") for p in parts) or re.search(r"[\x00-\x1f\x7f]", name) is not None)


def normal(fingerprint: str) -> str:
    fingerprint = fingerprint.strip()
    if fingerprint.upper().startswith("SHA256:"):
        fingerprint = fingerprint[7:]
    return fingerprint.replace(":", "").lower()


class Checker:
    def __init__(self, quiet: bool = False):
        self.failures, self.quiet = 0, quiet

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.failures += 1
        if not self.quiet or not ok:
            print(f"[{' OK ' if ok else 'FAIL'}] {message}")
        return ok


SIGNER_NOT_CHECKED = 3


def verify(path: str, fingerprint: str | None, quiet: bool = False) -> int:
    """Run every check on the bundle at `path`, print each and a verdict.

    0 only if every check passed against the trusted fingerprint; 1 if any failed; 3 if all passed
    but no fingerprint was given (a bundle re-signed by a forger passes every other check).
    """
    c = Checker(quiet)
    run_checks(path, fingerprint, c)
    if c.failures:
        print(f"NOT VERIFIED: {c.failures} check(s) failed")
        return 1
    if not fingerprint:
        print("NOT VERIFIED: signature valid, signer not checked -- the bundle is self-consistent, but anyone can "
              "sign a forged bundle with a key of their own. Run again with --fingerprint SHA256:... copied from "
              "the portal's settings page.")
        return SIGNER_NOT_CHECKED
    print("VERIFIED: the bundle is untouched and signed by the trusted key")
    return 0


def run_checks(path: str, fingerprint: str | None, c: Checker) -> None:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        c.check(False, f"cannot open {path}: {exc}")
        return
    with f:
        problems = layout_problems(f)
        c.check(not problems, "ZIP layout is canonical" + "".join(f"\n       {p}" for p in problems))
        try:
            zf = zipfile.ZipFile(f)
        except Exception as exc:  # noqa: BLE001 - BadZipFile, NotImplementedError, OSError...
            c.check(False, f"readable ZIP archive: {exc!r}")
            return
        with zf:
            names = [i.filename for i in zf.infolist()]
            infos = {i.filename: i for i in zf.infolist()}
            dupes = sorted(n for n, k in Counter(names).items() if k > 1)
            c.check(not dupes, "no duplicate entries" + (f": {dupes}" if dupes else ""))
            bad = [n for n in names if unsafe(n)]
            c.check(not bad, "no unsafe paths" + (f": {bad}" if bad else ""))
            if not c.check(all(n in names for n in OWN), "manifest.json and manifest.sig present"):
                return
            try:
                body = read_small(f, infos["manifest.json"])
                manifest = json.loads(body.decode("utf-8"))
                sig_text = read_small(f, infos["manifest.sig"])
                signature = base64.b64decode(sig_text.strip(), validate=True)
                if sig_text != base64.b64encode(signature) + b"\n":
                    raise ValueError("manifest.sig is not one line of canonical base64")
                raw = base64.b64decode(manifest["public_key"], validate=True)
                files = manifest["files"]
                listed = {e["path"]: e for e in files}
                well_formed = (manifest.get("format") == FORMAT and manifest.get("algorithm") == "Ed25519"
                               and len(raw) == 32 and len(listed) == len(files)
                               and all(isinstance(e["size"], int) and re.fullmatch(r"[0-9a-f]{64}", e["sha256"])
                                       for e in files))
            except Exception as exc:  # noqa: BLE001 - any malformed manifest is a failed check
                c.check(False, f"manifest.json and manifest.sig are well-formed: {exc!r}")
                return
            if not c.check(well_formed, f"manifest is a well-formed {FORMAT} Ed25519 manifest"):
                return
            actual = "SHA256:" + hashlib.sha256(raw).hexdigest()
            c.check(manifest.get("public_key_fingerprint") == actual, f"manifest fingerprint matches its key ({actual})")
            try:
                Ed25519PublicKey.from_public_bytes(raw).verify(signature, body)
                signed = True
            except (InvalidSignature, ValueError):
                signed = False
            c.check(signed, "manifest.sig is a valid Ed25519 signature of manifest.json")
            try:
                pem = serialization.load_pem_public_key(read_small(f, infos["public-key.pem"]))
                same = pem.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == raw
            except Exception:  # noqa: BLE001 - missing or unreadable key file
                same = False
            c.check(same, "public-key.pem holds the manifest's key")
            if fingerprint:
                c.check(normal(fingerprint) == normal(actual), f"key is the trusted key {fingerprint}")
            else:
                print(f"[WARN] no --fingerprint given: compare {actual} with the portal's settings page")
            extra = sorted(set(names) - set(listed) - set(OWN))
            c.check(not extra and not any(p in OWN for p in listed),
                    "every file is listed in the manifest" + (f": not listed {extra}" if extra else ""))
            for path, entry in sorted(listed.items()):
                if path not in names:
                    c.check(False, f"{path}: present")
                    continue
                digest = hashlib.sha256()
                try:
                    if infos[path].file_size != entry["size"]:
                        raise ValueError("size differs from the manifest")
                    inflate(f, infos[path], digest.update)
                    good = digest.hexdigest() == entry["sha256"]
                except Exception as exc:  # noqa: BLE001 - CRC error, corrupt or padded stream, size
                    c.check(False, f"{path}: readable and of size {entry['size']} ({exc})")
                    continue
                c.check(good, f"{path}: SHA-256 {entry['sha256'][:16]}… and size {entry['size']} match")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an MLSec Portal export bundle offline.")
    parser.add_argument("bundle", help="the bundle ZIP file")
    parser.add_argument("--fingerprint", help="the trusted key fingerprint, SHA256:<hex>, from the settings page")
    parser.add_argument("--quiet", action="store_true", help="print only failed checks and the verdict")
    args = parser.parse_args(argv)
    return verify(args.bundle, args.fingerprint, args.quiet)


if __name__ == "__main__":
    sys.exit(main())
