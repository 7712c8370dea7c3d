"""The formats that are not pickles, each built here by its own library (or byte by byte) and never loaded.

Done-when item 2: a ``.keras`` file with a ``Lambda`` layer fails (critical), an ONNX model whose
external data points outside its folder fails (high), a safetensors file with a lying header is an
error.  Plus HDF5, TensorFlow SavedModel (wire-format bytes written with the published field numbers)
and GGUF.
"""

from __future__ import annotations

import base64
import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from checks.runners import run_check

from .conftest import make_ctx


def scan(root: Path, *patterns: str):
    return run_check("model-serialization", make_ctx(root, source_path=str(root), model_artifacts=list(patterns)))


def titles(result, severity=None):
    return [f.title for f in result.findings if severity is None or f.severity == severity]


# --- Keras ----------------------------------------------------------------------------------------

def keras_layer(class_name: str, config: dict, module: str = "keras.layers") -> dict:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def write_keras(path: Path, layers: list[dict]) -> Path:
    config = {"module": "keras", "class_name": "Sequential", "registered_name": None,
              "config": {"name": "sequential", "layers": layers}}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2026-12-01"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    return path


DENSE = keras_layer("Dense", {"name": "dense", "units": 4, "activation": {
    "module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "relu"}})


def test_a_keras_file_with_a_lambda_layer_fails_as_critical(tmp_path):
    code = base64.b64encode(b"\xe3marshalled bytecode").decode()
    write_keras(tmp_path / "model.keras", [DENSE, keras_layer("Lambda", {
        "name": "shell", "function": {"class_name": "__lambda__", "config": {"code": code}}})])
    result = scan(tmp_path, "model.keras")
    assert result.status == "failed"
    assert any("Lambda layer shell" in t for t in titles(result, "critical"))
    assert code not in repr([f.as_dict() for f in result.findings])  # the bytecode is never echoed
    assert result.data["files"]["model.keras"]["format"] == "keras"


def test_a_keras_object_from_outside_keras_fails(tmp_path):
    write_keras(tmp_path / "model.keras", [DENSE, keras_layer("function", {"name": "x"}, module="os")])
    result = scan(tmp_path, "model.keras")
    assert result.status == "failed"
    assert any("object from module os" in t for t in titles(result, "critical"))


def test_a_plain_keras_model_passes(tmp_path):
    write_keras(tmp_path / "model.keras", [keras_layer("InputLayer", {"batch_shape": [None, 3]}), DENSE])
    result = scan(tmp_path, "model.keras")
    assert result.status == "passed", result.findings


def test_a_keras_archive_without_config_is_an_error(tmp_path):
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:
        archive.writestr("weights.bin", b"\0" * 8)
    assert scan(tmp_path, "model.keras").status == "error"


def test_an_hdf5_model_config_with_a_lambda_fails_and_weights_only_pass(tmp_path):
    import h5py

    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Lambda", "config": {"name": "exec", "function": ["4wAAAA==", None, None],
                                            "function_type": "lambda"}}]}}
    with h5py.File(tmp_path / "model.h5", "w") as handle:
        handle.attrs["model_config"] = json.dumps(config)
        handle.create_dataset("w", data=np.ones(3))
    with h5py.File(tmp_path / "weights.h5", "w") as handle:
        handle.create_dataset("w", data=np.ones(3))
    result = scan(tmp_path, "*.h5")
    files = result.data["files"]
    assert files["model.h5"]["verdict"] == "dangerous" and files["weights.h5"]["verdict"] == "clean"
    assert any("Lambda layer exec" in t for t in titles(result, "critical"))
    (tmp_path / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x01" * 100)
    assert scan(tmp_path, "broken.h5").status == "error"


# --- ONNX -----------------------------------------------------------------------------------------

def onnx_model(folder: Path, location: str | None, domain: str = "", name: str = "model.onnx") -> Path:
    import onnx
    from onnx import TensorProto, helper

    weight = helper.make_tensor("W", TensorProto.FLOAT, [2], [1.0, 2.0])
    if location is not None:
        weight.ClearField("float_data")
        weight.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", "0"), ("length", "8")):
            entry = weight.external_data.add()
            entry.key, entry.value = key, value
    node = helper.make_node("Add", ["X", "W"], ["Y"], domain=domain)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])], [weight])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    path = folder / name
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))
    return path


def test_onnx_external_data_leaving_the_model_folder_fails(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (tmp_path / "secret.txt").write_bytes(b"password")
    onnx_model(models, "../secret.txt")
    result = scan(tmp_path, "models/*")
    assert result.status == "failed"
    finding = next(f for f in result.findings if f.severity == "high")
    assert "external data outside the model folder" in finding.title
    assert "secret" not in finding.detail and "password" not in repr(result.findings)


def test_onnx_external_data_through_an_absolute_path_or_a_symlink_fails(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    onnx_model(models, "/etc/passwd", name="abs.onnx")
    (models / "link.bin").symlink_to(tmp_path / "outside.bin")
    (tmp_path / "outside.bin").write_bytes(b"\0" * 8)
    onnx_model(models, "link.bin", name="linked.onnx")
    result = scan(tmp_path, "models/*.onnx")
    assert {f: v["verdict"] for f, v in result.data["files"].items()} == {
        "models/abs.onnx": "dangerous", "models/linked.onnx": "dangerous"}


def test_onnx_with_its_external_data_inside_its_folder_passes(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "weights.bin").write_bytes(struct.pack("<2f", 1.0, 2.0))
    onnx_model(models, "weights.bin")
    onnx_model(models, None, name="inline.onnx")
    result = scan(tmp_path, "models/*")
    assert result.status == "passed", result.findings
    assert result.data["files"]["models/weights.bin"]["format"] == "onnx external data"


def test_onnx_external_data_missing_or_too_short_is_an_error(tmp_path):
    onnx_model(tmp_path, "absent.bin")
    assert scan(tmp_path, "model.onnx").status == "error"
    (tmp_path / "absent.bin").write_bytes(b"\0" * 4)  # the tensor asks for 8 bytes
    assert scan(tmp_path, "model.onnx").status == "error"


def test_a_custom_onnx_operator_domain_fails_unless_the_team_allowed_it(tmp_path):
    onnx_model(tmp_path, None, domain="com.acme.ops")
    result = scan(tmp_path, "model.onnx")
    assert result.status == "failed"
    assert any("custom operator domain" in t and "com.acme.ops" in t for t in titles(result, "high"))
    allowed = run_check("model-serialization", make_ctx(tmp_path, source_path=str(tmp_path), model_artifacts=["model.onnx"],
                                                        allowances={"onnx-domain": {"com.acme.ops": "reviewed"}}))
    assert allowed.status == "passed"


# --- safetensors ----------------------------------------------------------------------------------

def safetensors_bytes(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@pytest.mark.parametrize("name, content", [
    ("offsets-beyond.safetensors", safetensors_bytes({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
                                                     b"\0" * 8)),
    ("wrong-size.safetensors", safetensors_bytes({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}},
                                                 b"\0" * 8)),
    ("overlap.safetensors", safetensors_bytes({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                               "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
                                              b"\0" * 12)),
    ("huge-length.safetensors", struct.pack("<Q", 2**62) + b"{}"),
    ("not-json.safetensors", struct.pack("<Q", 4) + b"\xff\xfe{}" + b"\0" * 4),
])
def test_a_safetensors_file_with_a_lying_header_is_an_error_never_a_crash(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    result = scan(tmp_path, name)
    assert result.status == "error"
    assert "invalid safetensors file" in result.findings[-1].detail


# --- TensorFlow SavedModel (protobuf wire format, field numbers of tensorflow/core/protobuf/*.proto) -------

def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _node(name: str, op: str) -> bytes:
    attr = _field(1, b"dtype") + _field(2, _varint(1 << 3 | 0) + _varint(1))  # map entry: attr "dtype" {type: 1}
    return _field(1, name.encode()) + _field(2, op.encode()) + _field(3, b"input:0") + _field(5, attr)


def saved_model(graph_ops: list[str], function_ops: list[str] = ()) -> bytes:
    graph = b"".join(_field(1, _node(f"n{i}", op)) for i, op in enumerate(graph_ops))
    if function_ops:
        signature = _field(1, b"__inference_serve_42")
        function = _field(1, signature) + b"".join(_field(3, _node(f"f{i}", op)) for i, op in enumerate(function_ops))
        graph += _field(2, _field(1, function))
    graph += _field(4, _varint(1 << 3) + _varint(1575))  # versions {producer: 1575}: unknown here, skipped
    meta = _field(1, _field(4, b"serve")) + _field(2, graph)  # meta_info_def {tags: "serve"}, graph_def
    return _varint(1 << 3) + _varint(1) + _field(2, meta)


def test_a_savedmodel_calling_python_or_reading_files_fails(tmp_path):
    for name, ops, functions in (("pyfunc", ["Placeholder"], ["PyFunc"]), ("files", ["ReadFile", "Const"], [])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "saved_model.pb").write_bytes(saved_model(ops, functions))
    result = scan(tmp_path, "*/saved_model.pb")
    assert result.status == "failed"
    assert any("PyFunc op" in t for t in titles(result, "critical"))
    assert any("ReadFile op" in t for t in titles(result, "high"))


def test_a_plain_savedmodel_with_its_checkpoint_passes(tmp_path):
    (tmp_path / "variables").mkdir()
    (tmp_path / "saved_model.pb").write_bytes(saved_model(["Placeholder", "MatMul"], ["SaveV2", "RestoreV2"]))
    (tmp_path / "variables" / "variables.index").write_bytes(b"\0" * 16)
    (tmp_path / "variables" / "variables.data-00000-of-00001").write_bytes(b"\0" * 16)
    (tmp_path / "fingerprint.pb").write_bytes(b"\x08\x01")
    result = scan(tmp_path, str(tmp_path))
    assert result.status == "passed", result.findings


def test_bytes_that_are_not_a_savedmodel_are_an_error(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"\xff\xff\xff\xff garbage")
    assert scan(tmp_path, "saved_model.pb").status == "error"
    (tmp_path / "saved_model.pb").write_bytes(b"")
    assert scan(tmp_path, "saved_model.pb").status == "error"


# --- GGUF -----------------------------------------------------------------------------------------

def write_gguf(path: Path, template: str | None) -> Path:
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    if template is not None:
        writer.add_chat_template(template)
    writer.add_tensor("w", np.ones((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


LLAMA_TEMPLATE = ("{% set ns = namespace(first=true) %}{% for message in messages %}"
                  "{{ '<|' + message['role'] + '|>' + message['content'] }}{% endfor %}")


def test_a_gguf_chat_template_reaching_python_internals_fails(tmp_path):
    write_gguf(tmp_path / "evil.gguf", "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    write_gguf(tmp_path / "filter.gguf", "{{ messages|attr('__class__') }}")
    result = scan(tmp_path, "*.gguf")
    assert {f: v["verdict"] for f, v in result.data["files"].items()} == {
        "evil.gguf": "dangerous", "filter.gguf": "dangerous"}
    assert "__subclasses__()" not in repr(result.findings)


def test_an_ordinary_gguf_passes_and_an_including_template_is_flagged_for_review(tmp_path):
    write_gguf(tmp_path / "chat.gguf", LLAMA_TEMPLATE)
    write_gguf(tmp_path / "plain.gguf", None)
    write_gguf(tmp_path / "include.gguf", "{% include 'other.jinja' %}")
    result = scan(tmp_path, "*.gguf")
    assert result.status == "passed", result.findings
    assert any("chat template to review in include.gguf" in t for t in titles(result, "medium"))


def test_a_gguf_with_a_lying_tensor_table_is_an_error(tmp_path):
    data = write_gguf(tmp_path / "full.gguf", None).read_bytes()
    (tmp_path / "cut.gguf").write_bytes(data[:-10])
    (tmp_path / "garbage.gguf").write_bytes(b"GGUF" + b"\xff" * 60)
    result = scan(tmp_path, "cut.gguf", "garbage.gguf")
    assert {f: v["verdict"] for f, v in result.data["files"].items()} == {"cut.gguf": "error", "garbage.gguf": "error"}


# --- PyTorch's legacy tar format (torch < 0.4; laid out as torch.serialization's reader reads it) -------

def legacy_tar(path: Path, storage_type, payload=None) -> Path:
    import io
    import pickle
    import tarfile

    import torch

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", obj[8:]) if isinstance(obj, str) and obj.startswith("storage:") else None

    body = io.BytesIO()
    Pickler(body, protocol=2).dump({"weight": "storage:0"} if payload is None else payload)
    storages = (pickle.dumps(1, protocol=2) + pickle.dumps(("0", "cpu", storage_type), protocol=2)
                + struct.pack("<q", 2) + struct.pack("<2f", 1.0, 2.0) + pickle.dumps([], protocol=2))
    tensors = (pickle.dumps(1, protocol=2) + pickle.dumps(("t0", "0", torch.FloatTensor), protocol=2)
               + struct.pack("<i", 1) + b"\0" * 4 + struct.pack("<3q", 2, 1, 0))
    members = {"sys_info": pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2),
               "pickle": body.getvalue(), "storages": storages, "tensors": tensors}
    with tarfile.open(path, "w:", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_a_legacy_pytorch_tar_is_walked_member_by_member(tmp_path):
    import os

    import torch

    legacy_tar(tmp_path / "old.pt", torch.FloatStorage)
    legacy_tar(tmp_path / "evil-storage.pt", os.system)
    legacy_tar(tmp_path / "evil-object.pt", torch.FloatStorage, payload={"x": os.system})
    result = scan(tmp_path, "*.pt")
    files = result.data["files"]
    assert files["old.pt"]["verdict"] == "clean", result.findings
    assert files["old.pt"]["format"] == "pytorch legacy tar"
    assert files["evil-storage.pt"]["verdict"] == "dangerous"
    assert files["evil-object.pt"]["verdict"] == "dangerous"
    assert any("posix.system" in t for t in titles(result, "critical"))


def test_a_tar_that_is_not_a_torch_save_is_an_error(tmp_path):
    import io
    import tarfile

    with tarfile.open(tmp_path / "other.pt", "w:") as archive:
        info = tarfile.TarInfo("readme")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    assert scan(tmp_path, "other.pt").status == "error"
