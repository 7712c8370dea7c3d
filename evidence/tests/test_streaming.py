"""Evidence decrypted and re-encrypted as streams (evidence/fernet_stream.py): the same Fernet tokens,
authenticated before any plaintext is released, in memory far below the file's size."""

from __future__ import annotations

import hashlib
import os
import tracemalloc

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError

from evidence import fernet_stream, storage

BIG = 24 * 1024 * 1024  # just under the 25 MB upload limit


def big_plaintext(size: int = BIG) -> bytes:
    block = os.urandom(1 << 20)
    return (block * (size // len(block) + 1))[:size]


def peak_while(consume) -> int:
    tracemalloc.start()
    try:
        consume()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def keys(settings):
    settings.MLSEC_EVIDENCE_KEYS = [Fernet.generate_key().decode()]
    return settings


def test_streamed_decryption_gives_the_bytes_fernet_gives(keys):
    for data in (b"", b"x", b"0123456789abcdef", os.urandom(70_001), os.urandom(3 * 65_536)):
        name = storage.write(data)
        pieces = list(storage.iter_read(name))
        assert b"".join(pieces) == data == storage.read(name)
        assert all(len(p) <= fernet_stream.CHUNK + 16 for p in pieces)


def test_a_file_under_the_second_key_still_decrypts_streamed(keys):
    old = keys.MLSEC_EVIDENCE_KEYS[0]
    name = storage.write(b"kept under the old key")
    keys.MLSEC_EVIDENCE_KEYS = [Fernet.generate_key().decode(), old]
    assert b"".join(storage.iter_read(name)) == b"kept under the old key"
    keys.MLSEC_EVIDENCE_KEYS = [Fernet.generate_key().decode()]  # the old key gone: refused
    with pytest.raises(ValidationError, match="cannot be decrypted"):
        list(storage.iter_read(name))


@pytest.mark.parametrize("where", ["version", "iv", "middle", "mac", "truncated", "appended"])
def test_a_tampered_file_releases_no_plaintext_at_all(keys, where):
    name = storage.write(os.urandom(300_000))
    path = storage.root() / name
    token = bytearray(path.read_bytes())
    at = {"version": 0, "iv": 20, "middle": len(token) // 2, "mac": len(token) - 5}.get(where)
    if at is not None:
        token[at] = ord("A") if token[at] != ord("A") else ord("B")
    elif where == "truncated":
        token = token[:-8]
    else:
        token += b"AAAA"  # after the padding: urlsafe_b64decode would ignore it, this reader does not
    path.write_bytes(bytes(token))
    pieces = storage.iter_read(name)
    with pytest.raises(ValidationError, match="cannot be decrypted"):
        next(pieces)  # the very first piece: authentication comes before any plaintext


def test_decrypting_a_large_file_streams(keys):
    data = big_plaintext()
    name = storage.write(data)
    expected = hashlib.sha256(data).hexdigest()
    del data
    digest = hashlib.sha256()
    peak = peak_while(lambda: [digest.update(piece) for piece in storage.iter_read(name)])
    assert digest.hexdigest() == expected
    assert peak < 1024 * 1024, peak  # a 24 MiB file, well under 1 MiB held


def test_the_stream_writer_writes_tokens_fernet_reads(keys):
    import io

    key = Fernet.generate_key()
    for data in (b"", b"abc", os.urandom(200_003)):
        out = io.BytesIO()
        fernet_stream.write_encrypted([data[:7], data[7:]], key, out)
        assert Fernet(key).decrypt(out.getvalue()) == data


def test_rotating_a_large_evidence_file_streams_and_keeps_its_bytes(keys):
    data = big_plaintext()
    expected = hashlib.sha256(data).hexdigest()
    old = keys.MLSEC_EVIDENCE_KEYS[0]
    name = storage.write(data)
    del data
    new = Fernet.generate_key().decode()
    keys.MLSEC_EVIDENCE_KEYS = [new, old]
    peak = peak_while(lambda: storage.rotate(name))
    assert peak < 2 * 1024 * 1024, peak
    keys.MLSEC_EVIDENCE_KEYS = [new]  # the old key removed: the rotated file decrypts under the new one
    assert hashlib.sha256(storage.read(name)).hexdigest() == expected


def test_rotating_a_framed_report_streams_frame_by_frame(keys):
    old = keys.MLSEC_EVIDENCE_KEYS[0]
    writer = storage.EncryptedWriter("reports")
    block = os.urandom(1 << 20)
    for _ in range(24):
        writer.write(block)
    writer.close()
    keys.MLSEC_EVIDENCE_KEYS = [Fernet.generate_key().decode(), old]
    peak = peak_while(lambda: storage.rotate(writer.storage_name, framed=True))
    assert peak < 14 * storage.FRAME, peak  # 24 frames rewritten: one frame's copies held, never the file
    keys.MLSEC_EVIDENCE_KEYS = keys.MLSEC_EVIDENCE_KEYS[:1]
    assert hashlib.sha256(b"".join(storage.iter_decrypted(writer.storage_name))).hexdigest() == writer.sha256


def test_a_rotation_that_fails_leaves_the_file_as_it_was(keys):
    name = storage.write(b"precious")
    before = (storage.root() / name).read_bytes()
    keys.MLSEC_EVIDENCE_KEYS = [Fernet.generate_key().decode()]  # the key that wrote it is gone
    from cryptography.fernet import InvalidToken

    with pytest.raises(InvalidToken):
        storage.rotate(name)
    assert (storage.root() / name).read_bytes() == before
    assert not [p for p in (storage.root() / name).parent.iterdir() if p.name.startswith(".rotate-")]
