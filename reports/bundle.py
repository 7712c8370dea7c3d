"""The auditor's ZIP bundle: every export, the decrypted evidence files, and a signed manifest.

Layout: every export format that declares a `bundle_name` (reports/renderers/formats.py: report.pdf,
report.csv, report.json, oscal-assessment-results.json, oscal-poam.json, the Statement of
Applicability as statement-of-applicability.csv and .pdf, for a project the CycloneDX ML-BOM as
cyclonedx-mlbom.json), every evidence file at its dataset "file" path, public-key.pem (the Ed25519 public key), manifest.json (format, scope,
as_of, the public key and its fingerprint, and path/SHA-256/size of every other file) and
manifest.sig (the base64 Ed25519 signature of the exact manifest.json bytes, one line).

Why this shape: an auditor must be able to check a bundle offline with tools they trust —
scripts/verify_bundle.py (stdlib + cryptography), or unzip, sha256sum and openssl (see that script's
docstring) — and compare the key's fingerprint with the one on the portal's settings page. The
manifest puts one file per line so that even `sed` can turn it into a `sha256sum -c` list.

Memory: the projects are read once and kept compressed (the renderings each need them), unpacked one at a
time as each rendering reaches them; the PDF is laid out in parts and OSCAL keeps its lists compressed. Each rendering is streamed
straight into its ZIP member, and evidence bytes are fetched one file at a time and dropped after
being written (streamed, in fact: decrypted 64 KiB at a time into the member). Bundles are written without ZIP64 (at most 4 GiB and 65,535 files) and with fixed
timestamps and attributes, so the same input gives the same bytes, and `verify_bundle` can insist on
that canonical layout (see reports/renderers/ziplayout.py): any changed byte fails verification.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import pickle
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mlsec_portal.streams import HashingWriter

from .renderers.registry import bundled_formats
from .renderers.ziplayout import MODE, check_layout, read_member

FORMAT = "mlsec-portal-bundle/1"
MANIFEST, SIGNATURE, PUBLIC_KEY = "manifest.json", "manifest.sig", "public-key.pem"
_CHUNK = 1 << 20


class EvidenceMismatch(ValueError):
    """An evidence file's bytes differ from the SHA-256 recorded at upload: the bundle must not vouch for them."""


# --- keys -------------------------------------------------------------------------------------------

def load_private_key(pem_or_path: str | bytes | os.PathLike) -> Ed25519PrivateKey:
    """The Ed25519 private key from PEM text/bytes, or from the path of a PEM file (settings allow both)."""
    if isinstance(pem_or_path, Ed25519PrivateKey):
        return pem_or_path
    data = pem_or_path
    if isinstance(data, os.PathLike) or (isinstance(data, str) and "-----BEGIN" not in data):
        data = Path(data).read_bytes()
    if isinstance(data, str):
        data = data.encode()
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key is not an Ed25519 private key")
    return key


def _public_key(value: Any) -> Ed25519PublicKey:
    """The public key of a key object, or of private/public key PEM text or bytes, or of a PEM file path."""
    if isinstance(value, Ed25519PublicKey):
        return value
    if isinstance(value, Ed25519PrivateKey):
        return value.public_key()
    if isinstance(value, os.PathLike) or (isinstance(value, str) and "-----BEGIN" not in value):
        value = Path(value).read_bytes()
    data = value.encode() if isinstance(value, str) else bytes(value)
    if b"PRIVATE KEY" in data:
        return load_private_key(data).public_key()
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(private_pem: str | bytes | Ed25519PrivateKey) -> str:
    """The SubjectPublicKeyInfo PEM of the key (what public-key.pem in a bundle holds)."""
    key = _public_key(private_pem)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint_of_raw(raw: bytes) -> str:
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def public_key_fingerprint(private_or_public_pem: str | bytes) -> str:
    """'SHA256:<hex of SHA-256 of the raw 32-byte public key>', as shown on the settings page."""
    return fingerprint_of_raw(_raw(_public_key(private_or_public_pem)))


def _normal_fingerprint(value: str) -> str:
    value = value.strip()
    if value.upper().startswith("SHA256:"):
        value = value[7:]
    return value.replace(":", "").lower()


# --- member paths -----------------------------------------------------------------------------------

_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\]')


def reserved_names() -> frozenset[str]:
    """The bundle's own files: the registered formats' members, the key, the manifest and its signature."""
    return frozenset((*(fmt.bundle_name for fmt in bundled_formats()), PUBLIC_KEY, MANIFEST, SIGNATURE))


def check_member_path(path: Any) -> str:
    """`path` if it is a safe relative POSIX path inside the bundle, else ValueError (zip-slip & co).

    Refused: absolute paths, drive letters, `..`, `.` and empty segments, backslashes, double quotes
    and control characters (they break the sha256sum/sed route of the offline check), and the names of
    the bundle's own files.
    """
    if not isinstance(path, str) or not path or path.startswith("/") or _UNSAFE.search(path):
        raise ValueError(f"unsafe path in bundle: {path!r}")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts) or re.match(r"^[A-Za-z]:", path):
        raise ValueError(f"unsafe path in bundle: {path!r}")
    if path in reserved_names():
        raise ValueError(f"evidence path collides with a bundle file: {path!r}")
    return path


def evidence_member_path(evidence_id: int, original_name: str) -> str:
    """A safe bundle path for an evidence file: 'evidence/<id>-<cleaned original name>'."""
    name = unicodedata.normalize("NFC", original_name or "file")
    name = re.sub(r"[^\w.\- ()+,@]+", "_", name).strip(" .") or "file"
    return check_member_path(f"evidence/{int(evidence_id)}-{name[:120]}")


# --- writing ----------------------------------------------------------------------------------------

class _Hashing(HashingWriter):
    """A write-only stream that passes bytes on to a ZIP member while hashing and counting them."""

    def __init__(self, target: BinaryIO):
        super().__init__()
        self.target = target

    def _pass_on(self, data: bytes) -> None:
        self.target.write(data)


class _Packed:
    """The projects, read once and kept compressed (pickled by this process, never read from elsewhere),
    each unpacked as a rendering reaches it: the seven renderings and the evidence pass each walk them
    without 2,000 projects' dicts being alive at once (issue 19: the ZIP's memory budget)."""

    def __init__(self, projects):
        self._packed = [zlib.compress(pickle.dumps(p, protocol=pickle.HIGHEST_PROTOCOL), 1) for p in projects]

    def __iter__(self):
        for packed in self._packed:
            yield pickle.loads(zlib.decompress(packed))  # noqa: S301 - our own objects, pickled just above

    def __len__(self) -> int:
        return len(self._packed)


def _zip_time(generated_at: Any) -> tuple[int, int, int, int, int, int]:
    try:
        moment = datetime.fromisoformat(str(generated_at).replace("Z", "+00:00"))
        return max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second
    except ValueError:
        return 1980, 1, 1, 0, 0, 0


def manifest_bytes(manifest: dict) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, two-space indent, one file entry per line."""
    def dump(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))

    lines = []
    for key in sorted(manifest):
        if key == "files":
            rows = ",\n".join("    " + dump(entry) for entry in manifest["files"])
            lines.append(f'  "files": [\n{rows}\n  ]' if rows else '  "files": []')
        else:
            lines.append(f"  {dump(key)}: {dump(manifest[key])}")
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode("utf-8")


def _write_evidence(member: Callable, path: str, data: bytes | Iterable[bytes]) -> str:
    """Write one evidence file's bytes (or its pieces, as they are decrypted) into its member; its SHA-256."""
    digest = hashlib.sha256()

    def write(sink: _Hashing) -> None:
        for piece in (data,) if isinstance(data, bytes | bytearray) else data:
            digest.update(piece)
            sink.write(piece)

    member(path, write)
    return digest.hexdigest()


def build_bundle(dataset: dict, evidence_files: Mapping[str, Callable[[], bytes | Iterable[bytes]] | bytes],
                 out: BinaryIO,
                 private_key_pem: str | bytes) -> dict:
    """Write the bundle ZIP to `out` and return its manifest.

    `evidence_files` maps each evidence "file" path to its decrypted bytes or a callable returning
    them, or an iterable of their pieces (called once, when the file is written: a file is streamed
    into its member as it is decrypted, never held whole). Raises ValueError for an unsafe or missing evidence
    path, or bytes whose SHA-256 differs from the evidence record (the bundle must not vouch for them).
    """
    key = load_private_key(private_key_pem)
    raw_public = _raw(key.public_key())
    projects = _Packed(dataset.get("projects") or ())
    ds = {**dataset, "projects": projects}
    stamp = _zip_time(dataset.get("generated_at"))
    entries: list[dict] = []

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=False) as zf:
        def member(path: str, render: Callable[[_Hashing], Any], record: bool = True) -> None:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type, info.external_attr, info.create_system = zipfile.ZIP_DEFLATED, MODE, 3
            with zf.open(info, "w") as raw:
                sink = _Hashing(raw)
                render(sink)
            if record:
                entries.append({"path": path, "sha256": sink.digest.hexdigest(), "size": sink.size})

        for fmt in bundled_formats():
            export = fmt()
            if export.in_bundle(ds):
                member(fmt.bundle_name, lambda w, export=export: export.render(ds, w))
        written: dict[str, str] = {}
        for project in projects:
            for item in project.get("evidence") or ():
                path = item.get("file")
                if not path:
                    continue
                check_member_path(path)
                if path in written:
                    if item.get("sha256") and item["sha256"] != written[path]:
                        raise ValueError(f"two evidence records share {path!r} with different hashes")
                    continue
                if path not in evidence_files:
                    raise ValueError(f"no bytes given for evidence file {path!r}")
                source = evidence_files[path]
                digest = _write_evidence(member, path, source() if callable(source) else source)
                if item.get("sha256") and digest != item["sha256"].lower():
                    raise EvidenceMismatch(f"evidence file {path!r} does not match its recorded SHA-256")
                written[path] = digest
        member(PUBLIC_KEY, lambda w: w.write(public_key_pem(key).encode()))
        manifest = {
            "format": FORMAT, "generated_at": dataset.get("generated_at"), "as_of": dataset.get("as_of"),
            "scope": dataset.get("scope"), "catalog_version": dataset.get("catalog_version"), "algorithm": "Ed25519",
            "public_key": base64.b64encode(raw_public).decode(), "public_key_fingerprint": fingerprint_of_raw(raw_public),
            "files": sorted(entries, key=lambda e: e["path"])}
        body = manifest_bytes(manifest)
        signature = base64.b64encode(key.sign(body)) + b"\n"
        member(MANIFEST, lambda w: w.write(body), record=False)
        member(SIGNATURE, lambda w: w.write(signature), record=False)
    return manifest


# --- verifying --------------------------------------------------------------------------------------

@dataclass
class VerifyReport:
    """What verify_bundle found: `ok` only when `problems` is empty; `fingerprint` is the signing key's.

    `ok` alone says the bundle is self-consistent; `trusted` says it is also signed by the key whose
    fingerprint was given. Only `trusted` rules out a forgery re-signed with another key.
    """

    ok: bool = False
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    fingerprint: str = ""
    warnings: list[str] = field(default_factory=list)
    signer_checked: bool = False

    @property
    def trusted(self) -> bool:
        return self.ok and self.signer_checked


def _read(f: BinaryIO, info: zipfile.ZipInfo, sink: Callable[[bytes], object], limit: int | None = None) -> None:
    """Strictly inflate a member (see ziplayout.read_member); `limit` caps what a member may expand to."""
    if limit is not None and info.file_size != limit:
        raise ValueError("size differs from the manifest")
    read_member(f, info.header_offset, info.compress_size, info.compress_type, info.CRC, info.file_size, sink, _CHUNK)


def _small(f: BinaryIO, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > 16 << 20:
        raise ValueError("implausibly large")
    parts: list[bytes] = []
    _read(f, info, parts.append)
    return b"".join(parts)


def _check_manifest(manifest: Any) -> tuple[list[str], bytes | None]:
    if not isinstance(manifest, dict):
        return ["manifest.json is not a JSON object"], None
    problems = []
    if manifest.get("format") != FORMAT:
        problems.append(f"manifest format is {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest.get("algorithm") != "Ed25519":
        problems.append("manifest algorithm is not Ed25519")
    try:
        raw = base64.b64decode(str(manifest.get("public_key", "")), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        return problems + ["manifest public_key is not a base64 32-byte Ed25519 key"], None
    if manifest.get("public_key_fingerprint") != fingerprint_of_raw(raw):
        problems.append("manifest public_key_fingerprint does not match its public_key")
    files = manifest.get("files")
    if not isinstance(files, list) or not all(
            isinstance(f, dict) and isinstance(f.get("path"), str) and isinstance(f.get("size"), int)
            and isinstance(f.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", f["sha256"]) for f in files):
        problems.append("manifest files is not a list of {path, sha256, size}")
    return problems, raw


def verify_bundle(path: str | os.PathLike | BinaryIO, trusted_fingerprint: str | None = None) -> VerifyReport:
    """Check a bundle without extracting it; `ok` only if every check passes (never raises on bad input)."""
    report = VerifyReport()
    try:
        if hasattr(path, "read"):
            report.problems = _verify(path, trusted_fingerprint, report)
        else:
            with open(path, "rb") as f:
                report.problems = _verify(f, trusted_fingerprint, report)
    except Exception as exc:  # unreadable or unseekable input: a failed verification, never a crash
        report.problems = [f"cannot read the bundle: {exc!r}"]
    if trusted_fingerprint is None and report.fingerprint:
        report.warnings.append("the key was not compared with a trusted fingerprint: compare "
                               f"{report.fingerprint} with the portal's settings page")
    report.ok = not report.problems
    report.signer_checked = trusted_fingerprint is not None
    return report


def _verify(f: BinaryIO, trusted: str | None, report: VerifyReport) -> list[str]:
    problems = check_layout(f)
    try:
        zf = zipfile.ZipFile(f)
    except Exception as exc:  # BadZipFile, NotImplementedError (odd version fields), OSError...
        return problems + [f"not a readable ZIP archive: {exc!r}"]
    with zf:
        infos = {info.filename: info for info in zf.infolist()}
        names = [info.filename for info in zf.infolist()]
        seen: set[str] = set()
        reserved = reserved_names()
        for name in names:
            if name in seen:
                problems.append(f"duplicate entry: {name}")
            seen.add(name)
            if name not in reserved:
                try:
                    check_member_path(name)
                except ValueError as exc:
                    problems.append(str(exc))
        if MANIFEST not in seen or SIGNATURE not in seen:
            return problems + [f"missing {MANIFEST if MANIFEST not in seen else SIGNATURE}"]
        try:
            body = _small(f, infos[MANIFEST])
            manifest = json.loads(body.decode("utf-8"))
            sig_text = _small(f, infos[SIGNATURE])
            sig = base64.b64decode(sig_text.strip(), validate=True)
            if sig_text != base64.b64encode(sig) + b"\n":  # one canonical spelling: no stray bits or spaces
                raise ValueError("manifest.sig is not one line of canonical base64")
        except Exception as exc:  # any corruption of these two members is a failed check
            return problems + [f"cannot read the manifest or its signature: {exc}"]
        manifest_problems, raw = _check_manifest(manifest)
        problems += manifest_problems
        if raw is None:
            return problems
        report.fingerprint = fingerprint_of_raw(raw)
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(sig, body)
        except (InvalidSignature, ValueError):
            problems.append("the signature of manifest.json does not verify with the bundle's public key")
        if trusted is not None and _normal_fingerprint(trusted) != _normal_fingerprint(report.fingerprint):
            problems.append(f"the bundle is signed by {report.fingerprint}, not by the trusted key {trusted}")
        if PUBLIC_KEY not in seen:
            problems.append(f"missing {PUBLIC_KEY}")
        else:
            try:
                if _raw(_public_key(_small(f, infos[PUBLIC_KEY]))) != raw:
                    problems.append(f"{PUBLIC_KEY} is not the key named in the manifest")
            except Exception:
                problems.append(f"{PUBLIC_KEY} is not a readable Ed25519 public key")
        if manifest_problems:
            return problems
        listed = {}
        for entry in manifest["files"]:
            if entry["path"] in listed or entry["path"] in (MANIFEST, SIGNATURE):
                problems.append(f"manifest lists {entry['path']} more than once or lists itself")
            listed[entry["path"]] = entry
        for name in sorted(seen - set(listed) - {MANIFEST, SIGNATURE}):
            problems.append(f"file not listed in the manifest: {name}")
        for name, entry in listed.items():
            if name not in seen:
                problems.append(f"listed file missing: {name}")
                continue
            digest = hashlib.sha256()
            try:
                _read(f, infos[name], digest.update, entry["size"])
            except Exception as exc:  # CRC error, corrupt or padded deflate stream, truncated member, size
                problems.append(f"{name}: SHA-256 or size differs from the manifest, or unreadable ({exc})")
                continue
            if digest.hexdigest() != entry["sha256"]:
                problems.append(f"{name}: SHA-256 or size differs from the manifest")
            report.files_checked += 1
    return problems
