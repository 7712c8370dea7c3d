"""ONNX models: operator domains and external-data paths, read with the ``onnx`` package.

The model is parsed with ``onnx.load(..., load_external_data=False)`` (protobuf only: no
external file is opened by the parser, no operator runs).  Every graph is walked, including the
subgraphs held in node attributes (``If``/``Loop``/``Scan`` bodies) and model-local functions:

* a node in a domain outside the standard ones (and ONNX Runtime's own contrib domains) needs a
  native custom-operator library at run time — high (a team can allow a reviewed domain);
* a tensor whose external data ``location`` is absolute, climbs out of the model's folder (``..``)
  or resolves there through a symbolic link — high: loading reads that file into the model
  (CVE-2022-25882); an external file that is missing, or an offset/length beyond its end — error.

:func:`external_files` lists the external data files a model uses inside its folder, so the check
does not report them as unknown files.
"""

from __future__ import annotations

import os

STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training",
                              "com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental",
                              "com.ms.internal.nhwc", "ai.onnx.contrib"})
MAX_ONNX = 2 * 1024**3


def _load(real: str):
    import onnx

    return onnx.load(real, load_external_data=False)


def _graphs(model):
    import onnx

    pending = [model.graph]
    for function in model.functions:
        yield None, function.domain, function.node
    while pending:
        graph = pending.pop()
        yield graph, None, graph.node
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    pending.append(attribute.g)
                elif attribute.type == onnx.AttributeProto.GRAPHS:
                    pending.extend(attribute.graphs)


def _tensors(model):
    import onnx

    for graph, _domain, nodes in _graphs(model):
        if graph is not None:
            yield from graph.initializer
            for sparse in graph.sparse_initializer:
                yield sparse.values
                yield sparse.indices
        for node in nodes:
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.TENSOR:
                    yield attribute.t
                elif attribute.type == onnx.AttributeProto.TENSORS:
                    yield from attribute.tensors


def _external(tensor) -> dict[str, str] | None:
    import onnx

    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        return None
    return {entry.key: entry.value for entry in tensor.external_data}


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def scan_onnx(real: str, report, extra_domains=frozenset()) -> set[str]:
    """Append the model's findings to ``report``; returns the external data files it reads (real paths)."""
    from google.protobuf.message import DecodeError

    from ..artifact_scan import safe_name

    used: set[str] = set()
    if os.path.getsize(real) > MAX_ONNX:
        report.errors.append("larger than protobuf's 2 GiB limit")
        return used
    try:
        model = _load(real)
    except (DecodeError, ValueError, OSError, RecursionError, UnicodeDecodeError) as exc:
        report.errors.append(f"not an ONNX model ({type(exc).__name__})")
        return used
    if not model.graph.node and not model.functions:
        report.errors.append("the ONNX model has no graph (not an ONNX model, or an empty one)")
        return used
    report.scanned_by.add("onnx")
    domains: dict[str, int] = {}
    for _graph, _function_domain, nodes in _graphs(model):
        for node in nodes:
            domains[node.domain] = domains.get(node.domain, 0) + 1
    local = {f.domain for f in model.functions}
    for domain, count in sorted(domains.items()):
        if domain in STANDARD_DOMAINS or domain in local:
            continue
        shown = safe_name(domain)
        if domain in extra_domains:
            report.notes.append(f"custom operator domain {shown} allowed by the team's reviewed list")
            continue
        report.add("high", f"custom operator domain in {report.display}: {shown}",
                   f"{count} node(s) need a native operator library for {shown} at run time; "
                   "that code is not part of the model and was not checked")
    folder = os.path.realpath(os.path.dirname(real))
    for tensor in _tensors(model):
        info = _external(tensor)
        if info is None:
            continue
        location = info.get("location", "")
        shown = safe_name(location.replace("/", ".").replace("\\", "."))  # a path from the file: no raw echo
        target = os.path.normpath(os.path.join(folder, location))
        if not location or os.path.isabs(location) or not _inside(target, folder):
            report.add("high", f"external data outside the model folder in {report.display}",
                       f"tensor {safe_name(tensor.name[:80])} reads {'an absolute path' if os.path.isabs(location) else 'a path leaving the model folder'} "
                       f"({len(location)} characters): loading would read that file into the model")
            continue
        resolved = os.path.realpath(target)
        if not _inside(resolved, folder):
            report.add("high", f"external data outside the model folder in {report.display}",
                       f"tensor {safe_name(tensor.name[:80])} reads {shown}, a symbolic link leaving the model folder")
            continue
        if not os.path.isfile(resolved):
            report.errors.append(f"external data file {shown} is missing")
            continue
        try:
            offset, length = int(info.get("offset", 0) or 0), int(info.get("length", 0) or 0)
        except ValueError:
            report.errors.append(f"external data of tensor {safe_name(tensor.name[:80])} has a non-numeric offset")
            continue
        if offset < 0 or length < 0 or offset + length > os.path.getsize(resolved):
            report.errors.append(f"external data of tensor {safe_name(tensor.name[:80])} lies beyond the end of {shown}")
            continue
        used.add(resolved)
    report.notes.append(f"{sum(domains.values())} nodes in {len(domains)} operator domain(s)")
    return used
