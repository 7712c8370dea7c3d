"""Fernet tokens read and written as streams, so a stored evidence file is never held whole in memory.

An evidence file is one Fernet token (https://github.com/fernet/spec): URL-safe base64 of
`0x80 | timestamp (8) | IV (16) | AES-128-CBC ciphertext | HMAC-SHA256 (32)`, the HMAC (first half of
the key) over everything before it, the ciphertext under the second half. `cryptography`'s Fernet
decodes and decrypts a token in one piece; these functions produce and accept exactly the same
bytes, 64 KiB at a time.

Reading authenticates before it releases anything: a first pass computes the HMAC under every
configured key (MultiFernet's "all decrypt") and keeps the key whose HMAC matches, a second pass
decrypts with that key while computing the HMAC again. A file changed between the two passes fails
the second HMAC check at its end: the caller has then consumed plaintext of a file that no longer
authenticates and must discard what it built from it (the ZIP bundle does: the export fails).
"""

from __future__ import annotations

import base64
import hmac
import os
import struct
import time
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

VERSION = 0x80
HEADER = 1 + 8 + 16  # version, timestamp, IV
MAC = 32
CHUNK = 64 * 1024  # a multiple of 4 (base64 quanta) and of 3 (what one quantum encodes)


class InvalidStreamToken(Exception):
    """Not a Fernet token, or not one any of the keys authenticates."""


def _split(key: bytes) -> tuple[bytes, bytes]:
    raw = base64.urlsafe_b64decode(key)
    if len(raw) != 32:
        raise ValueError("a Fernet key is 32 bytes of URL-safe base64")
    return raw[:16], raw[16:]


def _decoded(handle: BinaryIO) -> Iterator[bytes]:
    """The base64-decoded bytes of the token text in `handle`, chunk by chunk. Stricter than
    `base64.urlsafe_b64decode`, which ignores what follows padding: nothing may follow it here."""
    handle.seek(0)
    pending, ended = b"", False
    while block := handle.read(CHUNK):
        pending += block.strip()
        if ended and pending:
            raise InvalidStreamToken("data after the end of the token")
        usable = len(pending) - len(pending) % 4
        if usable:
            quanta = pending[:usable]
            padded = quanta.find(b"=")
            if padded != -1:
                if padded < usable - 2 or quanta[padded:].strip(b"=") or pending[usable:]:
                    raise InvalidStreamToken("data after the end of the token")
                ended = True
            try:
                yield base64.urlsafe_b64decode(quanta)
            except (ValueError, TypeError) as exc:
                raise InvalidStreamToken("not base64") from exc
            pending = pending[usable:]
    if pending:
        raise InvalidStreamToken("truncated base64")


def _body_and_mac(handle: BinaryIO) -> Iterator[tuple[bytes, bytes | None]]:
    """(bytes covered by the HMAC, None) pieces, then ("", the trailing 32-byte HMAC)."""
    held = b""
    for piece in _decoded(handle):
        held += piece
        if len(held) > MAC:
            yield held[:-MAC], None
            held = held[-MAC:]
    if len(held) != MAC:
        raise InvalidStreamToken("too short")
    yield b"", held


def _macs(handle: BinaryIO, signing_keys: list[bytes]) -> tuple[list[bytes], bytes, int]:
    macs = [crypto_hmac.HMAC(k, hashes.SHA256()) for k in signing_keys]
    size, first, tag = 0, b"", b""
    for body, trailer in _body_and_mac(handle):
        if len(first) < HEADER:
            first += body[: HEADER - len(first)]
        size += len(body)
        for mac in macs:
            mac.update(body)
        if trailer is not None:
            tag = trailer
    if size < HEADER + 16 or first[0] != VERSION or (size - HEADER) % 16:
        raise InvalidStreamToken("not a Fernet token")
    return [m.finalize() for m in macs], tag, size


def iter_decrypt(handle: BinaryIO, keys: Iterable[bytes]) -> Iterator[bytes]:
    """The plaintext of the Fernet token in the seekable binary `handle`, in pieces of about CHUNK bytes."""
    pairs = [_split(k) for k in keys]
    digests, tag, _ = _macs(handle, [signing for signing, _ in pairs])
    chosen = next((pair for pair, digest in zip(pairs, digests, strict=True) if hmac.compare_digest(digest, tag)), None)
    if chosen is None:
        raise InvalidStreamToken("no key authenticates this token")
    signing, encryption = chosen
    mac = crypto_hmac.HMAC(signing, hashes.SHA256())
    decryptor, unpadder, header = None, padding.PKCS7(128).unpadder(), b""
    for body, trailer in _body_and_mac(handle):
        mac.update(body)
        if decryptor is None:
            header += body
            if len(header) < HEADER:
                continue
            decryptor = Cipher(algorithms.AES(encryption), modes.CBC(header[9:HEADER])).decryptor()
            body = header[HEADER:]
        if body:
            out = unpadder.update(decryptor.update(body))
            if out:
                yield out
        if trailer is not None:
            if not hmac.compare_digest(mac.finalize(), trailer):
                raise InvalidStreamToken("the token changed while it was read")
            try:
                out = unpadder.update(decryptor.finalize()) + unpadder.finalize()
            except ValueError as exc:
                raise InvalidStreamToken("bad padding") from exc
            if out:
                yield out


class _Base64Out:
    """Writes URL-safe base64 of what it is given to `target`, in whole 3-byte quanta until the end."""

    def __init__(self, target: BinaryIO):
        self.target, self.pending = target, b""

    def write(self, data: bytes) -> None:
        self.pending += data
        usable = len(self.pending) - len(self.pending) % 3
        if usable >= CHUNK:
            self.target.write(base64.urlsafe_b64encode(self.pending[:usable]))
            self.pending = self.pending[usable:]

    def close(self) -> None:
        self.target.write(base64.urlsafe_b64encode(self.pending))
        self.pending = b""


def write_encrypted(chunks: Iterable[bytes], key: bytes, target: BinaryIO) -> None:
    """Write the Fernet token of the concatenated `chunks` under `key` to `target` (what Fernet.encrypt
    would return for the whole plaintext, with a fresh IV and the current time)."""
    signing, encryption = _split(key)
    iv = os.urandom(16)
    header = bytes([VERSION]) + struct.pack(">Q", int(time.time())) + iv
    mac = crypto_hmac.HMAC(signing, hashes.SHA256())
    out = _Base64Out(target)
    encryptor = Cipher(algorithms.AES(encryption), modes.CBC(iv)).encryptor()
    padder = padding.PKCS7(128).padder()

    def emit(data: bytes) -> None:
        if data:
            mac.update(data)
            out.write(data)

    emit(header)
    for chunk in chunks:
        emit(encryptor.update(padder.update(chunk)))
    emit(encryptor.update(padder.finalize()) + encryptor.finalize())
    out.write(mac.finalize())
    out.close()
