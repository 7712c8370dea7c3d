"""The export formats: one class each, registered here; the rest of the portal reads the registry.

A format declares its key (what `Report.format` stores and the API's `format` takes), its label,
the content type and file extension of its download, whether it is built for one project only,
whether and under which name it enters the signed ZIP bundle, and how it renders. The request
form, the API, `export_report`, the build task, the download and the bundle all take the formats
from here (docs/exports.md, "Adding an export format"); the built-in ones are in `formats.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, BinaryIO, ClassVar


class ExportFormat:
    """One export format. `render` writes `dataset` (reports/dataset.py) to the binary stream `out`.

    `files` maps each evidence "file" path to its bytes (or a callable or iterable giving them, used
    once) and `signing_key` is the PEM of the portal's Ed25519 key: both are given when the format is
    built on its own, neither when it is rendered as a member of the bundle.
    """

    key: ClassVar[str]
    label: ClassVar[str]
    content_type: ClassVar[str]
    extension: ClassVar[str]  # of the downloaded file: mlsec-<scope>-<day>.<extension>
    bundle_name: ClassVar[str] = ""  # its file in the signed ZIP bundle; "": not in the bundle
    project_only: ClassVar[bool] = False  # it describes one project: the team and org scopes are refused

    def in_bundle(self, dataset: dict) -> bool:
        """Whether the bundle of `dataset` holds this format (its `bundle_name` says where)."""
        return bool(self.bundle_name)

    def render(self, dataset: dict, out: BinaryIO, *, files: Mapping[str, Any] | None = None,
               signing_key: str | None = None) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


_FORMATS: dict[str, type[ExportFormat]] = {}


def register(fmt: type[ExportFormat]) -> type[ExportFormat]:
    """Add a format (also as a class decorator). The order of registration is the order of the
    choices and of the bundle's members."""
    if not issubclass(fmt, ExportFormat) or not getattr(fmt, "key", ""):
        raise TypeError(f"{fmt!r} is not an export format with a key")
    if len(fmt.key) > 12:  # Report.format's max_length
        raise ValueError(f"format key {fmt.key!r} is longer than 12 characters")
    known = _FORMATS.get(fmt.key)
    if known is not None and known is not fmt:
        raise ValueError(f"a format with the key {fmt.key!r} is already registered ({known.__qualname__})")
    names = {f.bundle_name for f in _FORMATS.values() if f is not fmt and f.bundle_name}
    if fmt.bundle_name and fmt.bundle_name in names:
        raise ValueError(f"another format is already bundled as {fmt.bundle_name!r}")
    _FORMATS[fmt.key] = fmt
    return fmt


def unregister(key: str) -> None:
    """Remove a format added with `register` (tests clean up their plug-ins with it)."""
    _FORMATS.pop(key, None)


def get_format(key: str) -> type[ExportFormat]:
    """The format registered under `key` (KeyError if none)."""
    return _FORMATS[key]


def format_keys() -> list[str]:
    return list(_FORMATS)


def format_choices() -> list[tuple[str, str]]:
    """(key, label) of every format: the choices of `Report.format`, the request form and the API."""
    return [(key, fmt.label) for key, fmt in _FORMATS.items()]


def bundled_formats() -> list[type[ExportFormat]]:
    """The formats that may enter the bundle, in their order in it."""
    return [fmt for fmt in _FORMATS.values() if fmt.bundle_name]
