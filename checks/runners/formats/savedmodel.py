"""TensorFlow SavedModel (``saved_model.pb`` / ``.pbtxt``): the graph's and the function library's ops.

TensorFlow itself is far too heavy for a scanner, so the protobuf is parsed with the ``protobuf``
package (already installed for ONNX) against a vendored, minimal description of the messages on
the path from ``SavedModel`` to every ``NodeDef.op`` — the field numbers below are those of
``tensorflow/core/protobuf/saved_model.proto``, ``meta_graph.proto``, ``framework/graph.proto``,
``function.proto``, ``node_def.proto`` and ``op_def.proto``.  Fields not described are skipped as
unknown fields, so a real SavedModel parses completely.

* ``PyFunc``, ``PyFuncStateless``, ``EagerPyFunc`` — critical: the op calls Python code;
* ops that read, write or list files, or send tensors elsewhere — high.  The checkpoint ops every
  SavedModel has (``SaveV2``/``RestoreV2``/``MergeV2Checkpoints`` …) touch only the model's own
  variables folder and are not findings.
"""

from __future__ import annotations

from functools import cache

PY_FUNC_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
FILE_OPS = frozenset({
    "ReadFile", "WriteFile", "MatchingFiles", "ImmutableConst", "WholeFileReader", "WholeFileReaderV2",
    "TextLineReader", "TextLineReaderV2", "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "TFRecordReader",
    "TFRecordReaderV2", "LMDBReader", "TextLineDataset", "TFRecordDataset", "TFRecordDatasetV2",
    "FixedLengthRecordDataset", "FixedLengthRecordDatasetV2", "CSVDataset", "CSVDatasetV2", "LMDBDataset",
    "SaveDataset", "SaveDatasetV2", "LoadDataset", "SnapshotDataset", "SnapshotDatasetV2", "DatasetToTFRecord",
    "CreateSummaryFileWriter", "DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "DebugNanCount",
    "DebugNumericSummary", "DebugNumericSummaryV2",
})
MAX_PROTO = 2 * 1024**3  # protobuf's own message limit

# (message, [(field name, number, type, label, message type)])
_MESSAGES = {
    "SavedModel": [("saved_model_schema_version", 1, "int64", "optional", None),
                   ("meta_graphs", 2, "message", "repeated", "MetaGraphDef")],
    "MetaGraphDef": [("graph_def", 2, "message", "optional", "GraphDef")],
    "GraphDef": [("node", 1, "message", "repeated", "NodeDef"),
                 ("library", 2, "message", "optional", "FunctionDefLibrary")],
    "FunctionDefLibrary": [("function", 1, "message", "repeated", "FunctionDef")],
    "FunctionDef": [("signature", 1, "message", "optional", "OpDef"),
                    ("node_def", 3, "message", "repeated", "NodeDef")],
    "OpDef": [("name", 1, "string", "optional", None)],
    "NodeDef": [("name", 1, "string", "optional", None), ("op", 2, "string", "optional", None)],
}


@cache
def _saved_model_class():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    types = {"int64": field.TYPE_INT64, "string": field.TYPE_STRING, "message": field.TYPE_MESSAGE}
    labels = {"optional": field.LABEL_OPTIONAL, "repeated": field.LABEL_REPEATED}
    proto = descriptor_pb2.FileDescriptorProto(name="mlsec/tf_saved_model_min.proto", package="mlsec.tf",
                                               syntax="proto3")
    for name, fields in _MESSAGES.items():
        message = proto.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            entry = message.field.add(name=field_name, number=number, type=types[kind], label=labels[label])
            if type_name:
                entry.type_name = f".mlsec.tf.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("mlsec.tf.SavedModel"))


def parse_saved_model(raw: bytes, text: bool = False):
    from google.protobuf import text_format

    message = _saved_model_class()()
    if text:
        text_format.Parse(raw.decode("utf-8"), message, allow_unknown_field=True)
    else:
        message.ParseFromString(raw)
    return message


def ops_of(saved_model) -> dict[str, set[str]]:
    """op name -> where it appears (``graph`` or ``function <name>``)."""
    out: dict[str, set[str]] = {}
    for meta in saved_model.meta_graphs:
        graph = meta.graph_def
        for node in graph.node:
            out.setdefault(node.op, set()).add("graph")
        for function in graph.library.function:
            for node in function.node_def:
                out.setdefault(node.op, set()).add(f"function {function.signature.name[:80]}")
    return out


def scan_savedmodel(real: str, handle, size: int, report) -> None:
    from google.protobuf.message import DecodeError

    from ..artifact_scan import safe_name

    if size > MAX_PROTO:
        report.errors.append("saved_model.pb is larger than protobuf's 2 GiB limit")
        return
    raw = handle.read()
    try:
        saved = parse_saved_model(raw, text=real.endswith(".pbtxt"))
    except (DecodeError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        report.errors.append(f"not a SavedModel protobuf ({type(exc).__name__})")
        return
    if not saved.meta_graphs:
        report.errors.append("the SavedModel holds no MetaGraph (not a SavedModel, or an empty one)")
        return
    report.scanned_by.add("savedmodel-protobuf")
    ops = ops_of(saved)
    if not ops:
        report.errors.append("the SavedModel's graph holds no op at all")
        return
    for op in sorted(ops):
        where = ", ".join(sorted(safe_name(w.replace(" ", "_")) for w in ops[op])[:5])
        if op in PY_FUNC_OPS:
            report.add("critical", f"{op} op in {report.display}",
                       f"the graph calls Python code through {op} (in {where})")
        elif op in FILE_OPS:
            report.add("high", f"{op} op in {report.display}",
                       f"the graph reads, writes or lists files outside the model, or sends data elsewhere "
                       f"(in {where})")
    report.notes.append(f"{len(ops)} distinct ops")
