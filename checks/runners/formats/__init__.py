"""Readers for the model formats that are not pickles, each parsing without loading.

``sniff`` names the format of a file from its name and first bytes (or None: the caller goes on
with safetensors / NumPy / zip / pickle); ``scan`` runs that format's reader, which appends
findings, errors and notes to the :class:`~checks.runners.artifact_scan.FileReport`.

Severities: code the runtime would execute (a Keras ``Lambda``, a TensorFlow ``PyFunc``, a
Jinja template reaching Python internals) is critical; what reaches outside the model (file
ops, external data leaving the model folder, a module outside Keras, a custom operator domain)
is high; what a person should look at (a chat template that includes other templates) is medium.
A file the reader cannot parse is an error, never clean.
"""

from __future__ import annotations

import re

#: File names that are models although their extension says "data" (read by name, not suffix).
NAMED_FORMATS = frozenset({"saved_model.pb", "saved_model.pbtxt"})
#: Files of a model folder that carry no code: TensorFlow checkpoint bundles and fingerprints.
TENSOR_BUNDLE = re.compile(r"^(variables\.index|.*\.data-\d{5}-of-\d{5}|fingerprint\.pb|keras_metadata\.pb)$")

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
GGUF_MAGIC = b"GGUF"


def sniff(base: str, ext: str, head: bytes) -> str | None:
    if TENSOR_BUNDLE.match(base):
        return "tensorflow-checkpoint"
    if base in NAMED_FORMATS or (ext in (".pb", ".pbtxt") and "saved_model" in base):
        return "savedmodel"
    if head.startswith(GGUF_MAGIC) or ext == ".gguf":
        return "gguf"
    if head.startswith(HDF5_MAGIC) or ext in (".h5", ".hdf5"):
        return "hdf5"
    if ext == ".keras":
        return "keras"
    if ext == ".onnx":
        return "onnx"
    if ext == ".pb":
        return "savedmodel"
    return None


def scan(kind: str, real: str, handle, size: int, report) -> None:
    if kind == "tensorflow-checkpoint":
        report.notes.append("TensorFlow checkpoint data (tensor bundle): holds tensors, no code")
        report.scanned_by.add("name")
        return
    if kind == "savedmodel":
        from .savedmodel import scan_savedmodel

        scan_savedmodel(real, handle, size, report)
    elif kind == "gguf":
        from .gguf_format import scan_gguf

        scan_gguf(real, size, report)
    elif kind in ("hdf5", "keras"):
        from ..artifact_scan import second_opinion
        from ..pickle_scan import modelscan_file
        from .keras import scan_hdf5, scan_keras_zip

        (scan_hdf5 if kind == "hdf5" else scan_keras_zip)(real, report)
        report.opinion("keras-config", "dangerous" if report.findings else "clean")
        second_opinion(report, modelscan_file(real), "modelscan")
    elif kind == "onnx":
        from .onnx_format import scan_onnx

        report.covers |= scan_onnx(real, report, frozenset(report.allowances.onnx_domains))
    else:  # pragma: no cover - sniff returns only the kinds above
        report.errors.append(f"no reader for {kind}")
