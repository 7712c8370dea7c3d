"""Keras models: the v3 ``.keras`` zip (``config.json``) and HDF5 files (the ``model_config`` attribute).

The architecture is JSON; loading it makes Keras import ``module`` and look up ``class_name`` for
every object, and a ``Lambda`` layer carries Python bytecode (base64 of ``marshal``) or names a
function to import.  The JSON is walked, never deserialised by Keras:

* ``Lambda`` (and Keras 2's ``function_type: lambda``) — critical: code runs when the model loads
  with ``safe_mode=False`` or is called (CVE-2024-3660);
* an object whose ``module`` is outside Keras (CVE-2025-1550: any importable callable), or a
  ``TFOpLambda`` calling a TensorFlow function by name — high (critical when the module is known
  to execute code);
* a ``registered_name`` of a custom package (``package>Class``) — high: loading needs that code.
"""

from __future__ import annotations

import json
import zipfile

from ..pickle_allowlist import critical_reason

MAX_CONFIG = 64 * 1024 * 1024
KERAS_MODULES = ("keras", "tf_keras", "tensorflow.keras", "tensorflow.python.keras")
CODE_LAYERS = {"Lambda": "a Lambda layer carries Python code that runs when the model is loaded or called",
               "TFOpLambda": "a TFOpLambda layer calls a TensorFlow function by name",
               "SlicingOpLambda": "a SlicingOpLambda layer calls a TensorFlow function by name",
               "__lambda__": "a serialised Python lambda (its bytecode) that runs when the model is used"}


def scan_keras_zip(real: str, report) -> None:
    try:
        with zipfile.ZipFile(real) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                report.errors.append("a .keras file without config.json (not a Keras v3 archive)")
                return
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG:
                report.errors.append("config.json is implausibly large")
                return
            raw = archive.read(info)
            for member in sorted(names):
                if member.endswith((".pkl", ".pickle", ".py", ".pyc")):
                    report.add("high", f"code-carrying member in {report.display}: {_short(member)}",
                               "a Keras archive holds only JSON and weights; this member is not part of the format")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        report.errors.append(f"the .keras archive is unreadable ({type(exc).__name__})")
        return
    _scan_config(raw, "config.json", report)


def scan_hdf5(real: str, report) -> None:
    try:
        import h5py
    except ImportError:
        report.errors.append("h5py is not installed: HDF5 files cannot be read")
        return
    try:
        with h5py.File(real, "r") as handle:
            configs = {key: handle.attrs[key] for key in ("model_config", "training_config") if key in handle.attrs}
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        report.errors.append(f"HDF5 file does not parse ({type(exc).__name__})")
        return
    report.scanned_by.add("h5py")
    if not configs:
        report.notes.append("HDF5 file without a Keras model_config: weights only, no architecture to check")
        return
    for key, value in configs.items():
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        _scan_config(raw, key, report)


def _scan_config(raw: bytes, where: str, report) -> None:
    try:
        config = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        report.errors.append(f"{where} is not valid JSON")
        return
    report.scanned_by.add("keras-config")
    seen: set[tuple[str, str]] = set()
    for node in _walk(config):
        for severity, title, detail in _judge(node):
            if (title, detail) in seen:
                continue
            seen.add((title, detail))
            report.add(severity, f"{title} in {report.display}", f"{detail} ({where})")


def _judge(node: dict):
    class_name = node.get("class_name")
    config = node.get("config") if isinstance(node.get("config"), dict) else {}
    if isinstance(class_name, str) and class_name in CODE_LAYERS:
        name = _short(str(config.get("name") or class_name))
        severity = "critical" if class_name in ("Lambda", "__lambda__") else "high"
        yield severity, f"{class_name} layer {name}", CODE_LAYERS[class_name]
    if node.get("function_type") == "lambda" or (isinstance(node.get("function"), list) and node.get("function")):
        yield "critical", "serialised Python function", "Keras 2 stores the function's marshalled bytecode"
    module = node.get("module")
    if isinstance(module, str) and module and class_name is not None and not module.startswith(KERAS_MODULES):
        reason = critical_reason(f"{module}.{class_name}")
        yield ("critical" if reason else "high", f"object from module {_short(module)}",
               f"loading imports {_short(module)}.{_short(str(class_name))}"
               + (f" ({reason})" if reason else ": code outside Keras runs when the model is loaded"))
    registered = node.get("registered_name")
    if isinstance(registered, str) and ">" in registered:
        yield ("high", f"custom object {_short(registered)}",
               "loading needs this package's code registered as a Keras serialisable")


def _walk(value, depth: int = 0):
    if depth > 200:
        return
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)


def _short(text: str) -> str:
    from ..artifact_scan import safe_name

    return safe_name(text[:120])
