"""The files the evidence keys encrypt outside the evidence app, registered by the apps that own them.

`manage.py rotate_evidence_key` re-encrypts the evidence files, every kind of file registered here and the
notification channels with the first key of MLSEC_EVIDENCE_KEY. An app above evidence that stores encrypted
files registers them in its `AppConfig.ready()`, so evidence names no app above it:

    rotation.register_files("reports", "reports", lambda: Report.objects.values_list("storage_name", flat=True),
                            framed=True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class EncryptedFiles:
    key: str  # the count's name in the audit event of the rotation
    noun: str  # the count's name in the command's output
    names: Callable[[], Iterable[str]]  # the storage names, as evidence.storage knows them
    framed: bool = False  # written by storage.EncryptingWriter (in frames) rather than storage.write


_registry: dict[str, EncryptedFiles] = {}


def register_files(key: str, noun: str, names: Callable[[], Iterable[str]], *, framed: bool = False) -> None:
    _registry[key] = EncryptedFiles(key, noun, names, framed)


def registered_files() -> list[EncryptedFiles]:
    return list(_registry.values())
