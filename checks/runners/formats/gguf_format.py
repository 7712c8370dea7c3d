"""GGUF (llama.cpp) models: header and tensor table read with the ``gguf`` package, chat templates parsed.

``gguf.GGUFReader`` maps the file read-only and decodes the header, the key/value metadata and
the tensor table; its errors (bad magic, unsupported version, truncated fields, a tensor whose
data runs past the end) make the file an error.  On top of it this reader requires that every
tensor's data lies inside the data section, aligned, without two tensors overlapping.

Chat templates (``tokenizer.chat_template`` and its named variants) are Jinja programs that the
serving runtime renders.  They are parsed with Jinja2 (never rendered): attribute access to
Python internals (``__class__``, ``__globals__``, ``__subclasses__`` …) or to the rendering
context's callables is how a template escapes to code (CVE-2024-34359) — critical; a template
that pulls in other templates (``import``/``include``/``extends``) — medium, to review.
"""

from __future__ import annotations

MAX_TEMPLATE = 1024 * 1024
_ESCAPES = ("__class__", "__globals__", "__subclasses__", "__builtins__", "__import__", "__mro__", "__base__",
            "__bases__", "__init__", "__getattribute__", "__dict__", "__code__", "__reduce__", "__reduce_ex__",
            "func_globals", "f_globals", "gi_frame", "tb_frame")
_GADGETS = ("cycler", "joiner", "lipsum", "self", "config", "request", "os", "subprocess", "popen", "eval", "exec",
            "__import__", "getattr")


def scan_gguf(real: str, size: int, report) -> None:
    try:
        from gguf import GGUFReader
    except ImportError:
        report.errors.append("the gguf package is not installed: GGUF files cannot be read")
        return
    try:
        reader = GGUFReader(real, "r")
    except (ValueError, IndexError, KeyError, TypeError, OverflowError, MemoryError, OSError, UnicodeDecodeError) as exc:
        report.errors.append(f"GGUF header or tensor table does not parse ({type(exc).__name__})")
        return
    try:
        problem = _tensor_table_problem(reader, size)
        if problem:
            report.errors.append(f"GGUF tensor table is inconsistent: {problem}")
            return
        report.scanned_by.add("gguf")
        templates = {name: _field_text(reader, name) for name in reader.fields
                     if name == "tokenizer.chat_template" or name.startswith("tokenizer.chat_template.")}
    finally:
        del reader  # drop the memory map
    for name, text in sorted(templates.items()):
        if text is None:
            report.errors.append(f"{name} is not a string")
            continue
        _judge_template(name, text, report)
    report.notes.append(f"{len(templates)} chat template(s)")


def _field_text(reader, name: str) -> str | None:
    field = reader.fields[name]
    try:
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    except (IndexError, UnicodeDecodeError, TypeError):
        return None


def _tensor_table_problem(reader, size: int) -> str:
    start = int(reader.data_offset)
    if start > size:
        return "the data section starts after the end of the file"
    spans = []
    for tensor in reader.tensors:
        offset, length = int(tensor.data_offset), int(tensor.n_bytes)
        if offset < start or offset + length > size:
            return "a tensor's data lies outside the file"
        if (offset - start) % int(reader.alignment):
            return "a tensor's data is not aligned"
        spans.append((offset, offset + length))
    spans.sort()
    for (_a, end), (begin, _b) in zip(spans, spans[1:], strict=False):
        if begin < end:
            return "two tensors' data overlap"
    return ""


def _judge_template(name: str, text: str, report) -> None:
    from jinja2 import Environment, nodes
    from jinja2.exceptions import TemplateSyntaxError

    if len(text) > MAX_TEMPLATE:
        report.add("medium", f"oversized chat template in {report.display}", f"{name}: {len(text)} characters")
        return
    try:
        tree = Environment(autoescape=True).parse(text)  # parse only: nothing is rendered
    except (TemplateSyntaxError, RecursionError):
        report.add("medium", f"chat template does not parse in {report.display}",
                   f"{name} is not valid Jinja; the runtime would fail to render it")
        return
    escapes, gadgets, loads = set(), set(), set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name, nodes.Import, nodes.FromImport,
                               nodes.Include, nodes.Extends, nodes.Filter)):
        if isinstance(node, nodes.Filter):
            if node.name == "attr":
                escapes.add("|attr()")
        elif isinstance(node, nodes.Getattr) and (node.attr in _ESCAPES or node.attr.startswith("__")):
            escapes.add(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str) \
                and node.arg.value.startswith("__"):
            escapes.add(node.arg.value)
        elif isinstance(node, nodes.Name) and node.name in _GADGETS and node.ctx == "load":
            gadgets.add(node.name)
        elif isinstance(node, nodes.Import | nodes.FromImport | nodes.Include | nodes.Extends):
            loads.add(type(node).__name__.lower())
    from ..artifact_scan import safe_name

    if escapes:
        report.add("critical", f"chat template reaches Python internals in {report.display}",
                   f"{name} accesses {', '.join(sorted(safe_name(e) for e in escapes)[:6])}: a template injection "
                   "that runs code where the runtime renders templates without a sandbox")
    if gadgets and not escapes:
        report.add("medium", f"chat template to review in {report.display}",
                   f"{name} uses {', '.join(sorted(gadgets))}, which templates use to reach code")
    if loads:
        report.add("medium", f"chat template to review in {report.display}",
                   f"{name} loads other templates ({', '.join(sorted(loads))})")
