"""A write-only byte stream that counts and hashes what passes through it, written once.

The encrypted files of the evidence store (`evidence.storage.EncryptedWriter`) and the members of the
signed export bundle (`reports.bundle`) both record the SHA-256 and the size of exactly the bytes a
renderer wrote; each says only where the bytes go next (`_pass_on`).
"""

from __future__ import annotations

import hashlib
import io


class HashingWriter(io.RawIOBase):
    """Counts (`size`) and hashes (`digest`, SHA-256) every byte written, then passes it on."""

    def __init__(self):
        self.digest, self.size = hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self.digest.update(data)
        self.size += len(data)
        self._pass_on(data)
        return len(data)

    def _pass_on(self, data: bytes) -> None:  # pragma: no cover - each writer says where its bytes go
        raise NotImplementedError
