"""The evidence store: every file encrypted at rest, named at random, typed from its bytes.

Files are Fernet tokens (AES-128-CBC + HMAC-SHA256) under `MEDIA_ROOT/evidence/YYYY/MM/<random>.bin`;
the plaintext never touches the disk. `MLSEC_EVIDENCE_KEY` may list several keys (comma-separated):
the first encrypts, all decrypt (MultiFernet), so keys rotate without downtime (docs/operations.md).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import struct
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import filetype
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils import timezone

from mlsec_portal.streams import HashingWriter

from . import fernet_stream
from .markup import find_markup

# What evidence may be: documents, images, spreadsheets, archives of reports, text and data.
ALLOWED_BINARY = {
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "application/zip", "application/gzip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
}
# The file name's extension a stored file downloads with, by detected type (the first is added when
# the uploaded name's extension is not among them): a text file named `.html` downloads as `.html.txt`.
EXTENSIONS = {
    "application/pdf": ("pdf",), "image/png": ("png",), "image/jpeg": ("jpg", "jpeg"), "image/gif": ("gif",),
    "image/webp": ("webp",), "application/zip": ("zip",), "application/gzip": ("gz", "tgz"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("pptx",),
    "application/vnd.oasis.opendocument.text": ("odt",), "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/json": ("json",), "text/csv": ("csv", "tsv"), "text/plain": ("txt", "log", "md"),
}


def _keys() -> list[bytes]:
    keys = [k.encode() if isinstance(k, str) else k for k in settings.MLSEC_EVIDENCE_KEYS if k]
    if not keys:
        raise ImproperlyConfigured("MLSEC_EVIDENCE_KEY is not set: evidence cannot be stored encrypted")
    return keys


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in _keys()])


def encrypt(data: bytes) -> bytes:
    return _cipher().encrypt(data)


def decrypt(token: bytes) -> bytes:
    try:
        return _cipher().decrypt(token)
    except InvalidToken:
        raise ValidationError("This evidence file cannot be decrypted with the configured keys.") from None


def detect_content_type(data: bytes) -> str:
    """The type the bytes say they are (never the file name); refuse what a browser would run."""
    kind = filetype.guess(data[:8192])
    if kind is not None:
        if kind.mime in ALLOWED_BINARY:
            return kind.mime
        raise ValidationError(f"Files of type {kind.mime} are not accepted as evidence.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("This file's type could not be recognised; upload a PDF, an image, an office "
                              "document, a ZIP, or UTF-8 text.") from None
    if "\x00" in text:
        raise ValidationError("Binary data with an unknown format is not accepted as evidence.")
    markup = find_markup(text)  # anywhere: after a byte-order mark, a comment, or pages of text
    if markup is not None:
        raise ValidationError(markup.sentence())
    text = text.removeprefix("\ufeff")
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        try:
            json.loads(text)
            return "application/json"
        except ValueError:
            pass
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        rows = list(csv.reader(io.StringIO(text[:4096]), dialect))
        if len(rows) >= 2 and len(rows[0]) >= 2 and len({len(r) for r in rows[:-1]}) == 1:
            return "text/csv"
    except csv.Error:
        pass
    return "text/plain"


def sanitise_name(name: str) -> str:
    """A safe display name: no directories, no control characters, no leading dots, 200 characters."""
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"[^\w.\- ()]+", "_", name).strip(" .")
    return (name or "evidence")[:200]


def name_for_type(name: str, content_type: str) -> str:
    """`name` with an extension that matches the detected type: `report.html` stored as text/plain
    becomes `report.html.txt`, so no download is ever opened as something the bytes are not."""
    allowed = EXTENSIONS.get(content_type, ("bin",))
    name = name or "evidence"
    stem, dot, extension = name.rpartition(".")
    if dot and stem and extension.lower() in allowed:
        return name
    suffix = "." + allowed[0]
    return name[: 200 - len(suffix)] + suffix


def root() -> Path:
    return Path(settings.MEDIA_ROOT)


def write(data: bytes) -> str:
    """Encrypt and write atomically; returns the storage name (relative to MEDIA_ROOT)."""
    now = timezone.now()
    relative = Path("evidence") / f"{now:%Y}" / f"{now:%m}" / f"{secrets.token_hex(16)}.bin"
    target = root() / relative
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = encrypt(data)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(token)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return relative.as_posix()


def _path(storage_name: str) -> Path:
    path = (root() / storage_name).resolve()
    if root().resolve() not in path.parents:
        raise ValidationError("Invalid stored file location.")
    return path


def read(storage_name: str) -> bytes:
    return decrypt(_path(storage_name).read_bytes())


def iter_read(storage_name: str) -> Iterator[bytes]:
    """The plaintext of an evidence file in pieces of 64 KiB, authenticated before the first piece
    (evidence/fernet_stream.py): an export never holds a whole evidence file."""
    with open(_path(storage_name), "rb") as handle:
        try:
            yield from fernet_stream.iter_decrypt(handle, _keys())
        except (fernet_stream.InvalidStreamToken, ValueError):
            raise ValidationError("This evidence file cannot be decrypted with the configured keys.") from None


def remove(storage_name: str) -> None:
    (root() / storage_name).unlink(missing_ok=True)


# --- streams (reports): encrypted in 1 MiB frames so neither writing nor reading holds the whole file ---

FRAME = 1 << 20
_LENGTH = struct.Struct(">I")


class EncryptedWriter(HashingWriter):
    """A binary stream that encrypts what is written to it, frame by frame, and hashes the plaintext."""

    def __init__(self, subdir: str = "reports"):
        super().__init__()
        relative = Path(subdir) / f"{secrets.token_hex(16)}.bin"
        self.storage_name = relative.as_posix()
        target = root() / relative
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._file = open(target, "wb")  # noqa: SIM115 - closed in close()
        os.chmod(target, 0o600)
        self._buffer = bytearray()

    def _pass_on(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= FRAME:
            self._emit(FRAME)

    def _emit(self, count: int) -> None:
        token = encrypt(bytes(self._buffer[:count]))
        del self._buffer[:count]
        self._file.write(_LENGTH.pack(len(token)) + token)

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()

    def close(self) -> None:
        if not self.closed:
            if self._buffer:
                self._emit(len(self._buffer))
            self._file.close()
        super().close()

    def discard(self) -> None:
        self.close()
        remove(self.storage_name)


def _frames(handle) -> Iterator[bytes]:
    """The encrypted frames of a framed file, one at a time."""
    while header := handle.read(_LENGTH.size):
        (length,) = _LENGTH.unpack(header)
        yield handle.read(length)


def iter_decrypted(storage_name: str) -> Iterator[bytes]:
    """Yield the plaintext of a framed file, one frame at a time."""
    with open(_path(storage_name), "rb") as handle:
        for token in _frames(handle):
            yield decrypt(token)


def rotate(storage_name: str, framed: bool = False) -> None:
    """Re-encrypt one stored file with the first key (after a new key was put first in MLSEC_EVIDENCE_KEY).

    Streamed: a framed report is rewritten one frame at a time, an evidence file's token is decrypted
    and encrypted again 64 KiB at a time, into a temporary file that replaces the old one only once it
    is complete. Memory stays at about one frame whatever the file's size."""
    path = _path(storage_name)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".rotate-")
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as handle:
            if framed:
                cipher = _cipher()
                for token in _frames(handle):
                    rotated = cipher.rotate(token)
                    out.write(_LENGTH.pack(len(rotated)) + rotated)
            else:
                try:
                    fernet_stream.write_encrypted(fernet_stream.iter_decrypt(handle, _keys()), _keys()[0], out)
                except (fernet_stream.InvalidStreamToken, ValueError):
                    raise InvalidToken from None
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
