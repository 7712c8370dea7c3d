"""What the evidence keys encrypt outside the evidence app, registered by the apps that own it: stored
files, and sealed values in database rows (a source's credential, an identity provider's secret).

`manage.py rotate_evidence_key` re-encrypts the evidence files, every kind of file and value registered
here and the notification channels with the first key of MLSEC_EVIDENCE_KEY, so that the old key can
then be removed without losing anything it sealed. An app above evidence that stores encrypted
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


@dataclass(frozen=True)
class SealedValues:
    key: str  # the count's name in the audit event of the rotation
    noun: str  # the count's name in the command's output
    reseal: Callable[[], int]  # re-encrypts every value with the first key; returns how many it did


_sealed: dict[str, SealedValues] = {}


def register_sealed(key: str, noun: str, reseal: Callable[[], int]) -> None:
    _sealed[key] = SealedValues(key, noun, reseal)


def registered_sealed() -> list[SealedValues]:
    return list(_sealed.values())


def reseal_field(queryset, field: str) -> int:
    """Re-encrypt the Fernet tokens (text) in `field` of every row of `queryset` with the first key
    (MultiFernet.rotate: opened with any key of the ring, sealed with the first)."""
    from .storage import _cipher

    cipher, count = _cipher(), 0
    for row in queryset.exclude(**{field: ""}).only("pk", field).iterator():
        token = getattr(row, field)
        setattr(row, field, cipher.rotate(token.encode()).decode())
        row.save(update_fields=[field])
        count += 1
    return count
