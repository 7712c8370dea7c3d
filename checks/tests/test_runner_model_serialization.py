"""model-serialization: malicious payloads are written (never loaded) and must be caught.

The dangerous objects below are only ever passed to ``pickle.dumps`` /
``np.save``; an autouse fixture makes any unpickling during a test blow up,
so a scanner that secretly loads a file would fail the suite.
"""

from __future__ import annotations

import os
import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from checks.runners import run_check

from .conftest import make_ctx

KEY = "model-serialization"
TORCH_MAGIC = 0x1950A86A20F9469CFC6C
NOISE = random.Random(20261129).randbytes  # deterministic "random" bytes


class Payload:
    """Calls os.system when unpickled. Written to disk only."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.fixture(autouse=True)
def forbid_loading(monkeypatch):
    import fickling.fickle  # noqa: F401  - import the scanners before the traps are set
    import modelscan.modelscan  # noqa: F401
    import picklescan.scanner  # noqa: F401

    def refuse(*_args, **_kwargs):
        raise AssertionError("something tried to unpickle / load a model file")

    class RefusingUnpickler(pickle.Unpickler):
        def __init__(self, *_args, **_kwargs):
            refuse()

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", RefusingUnpickler)
    monkeypatch.setattr(np, "load", refuse)


def torch_zip(path: Path, payload: object) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(payload, protocol=2))
        archive.writestr("archive/version", "3\n")
        archive.writestr("archive/data/0", b"\0" * 64)
    return path


def legacy_torch(path: Path, payload: object) -> Path:
    parts = [TORCH_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}, payload, ["0"]]
    path.write_bytes(b"".join(pickle.dumps(p, protocol=2) for p in parts) + NOISE(256))
    return path


def scan(tmp_path: Path, *patterns: str):
    return run_check(KEY, make_ctx(tmp_path, source_path=str(tmp_path), model_artifacts=list(patterns)))


def assert_dangerous(result, name: str) -> None:
    assert result.status == "failed", (result.summary, result.findings)
    finding = next(f for f in result.findings if f.severity == "critical")
    assert name in finding.title and "system" in finding.detail  # posix.system / os.system
    assert "picklescan" in finding.detail


def test_malicious_pickle_fails(tmp_path):
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(Payload()))
    result = scan(tmp_path, "model.pkl")
    assert_dangerous(result, "model.pkl")
    assert "modelscan" in result.findings[0].detail and "fickling" in result.findings[0].detail
    assert len(result.data["artifacts"]["model.pkl"]) == 64


def test_malicious_protocol0_pickle_fails(tmp_path):
    (tmp_path / "old.pickle").write_bytes(pickle.dumps(Payload(), protocol=0))
    assert_dangerous(scan(tmp_path, "*.pickle"), "old.pickle")


def test_malicious_pytorch_zip_fails(tmp_path):
    torch_zip(tmp_path / "weights.pt", Payload())
    assert_dangerous(scan(tmp_path, "weights.pt"), "weights.pt")


def test_malicious_legacy_torch_fails(tmp_path):
    legacy_torch(tmp_path / "old.pth", Payload())
    assert_dangerous(scan(tmp_path, "old.pth"), "old.pth")


def test_object_npy_with_payload_fails(tmp_path):
    array = np.empty(2, dtype=object)
    array[0], array[1] = Payload(), {"x": 1}
    np.save(tmp_path / "features.npy", array, allow_pickle=True)
    assert_dangerous(scan(tmp_path, "features.npy"), "features.npy")


def test_pickle_with_unknown_extension_is_sniffed(tmp_path):
    (tmp_path / "model.weights").write_bytes(pickle.dumps(Payload(), protocol=4))
    assert_dangerous(scan(tmp_path, "model.weights"), "model.weights")


def test_benign_artifacts_pass(tmp_path):
    from safetensors.numpy import save_file

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "params.pkl").write_bytes(pickle.dumps({"weights": [[1.0, 2.0], [3.0]], "name": "x"}))
    np.save(tmp_path / "m" / "emb.npy", np.arange(12, dtype=np.float32).reshape(3, 4), allow_pickle=False)
    save_file({"w": np.ones((2, 3), dtype=np.float32), "b": np.zeros(3, dtype=np.int64)},
              str(tmp_path / "m" / "model.safetensors"))
    torch_zip(tmp_path / "m" / "ok.pt", {"layer.weight": [0.1, 0.2]})
    legacy_torch(tmp_path / "m" / "old.bin", {"w": [1, 2, 3]})
    np.savez(tmp_path / "m" / "arrays.npz", a=np.arange(3), b=np.ones(2))
    (tmp_path / "m" / "config.json").write_text("{}")
    result = scan(tmp_path, "m/*")
    assert result.status == "passed", (result.summary, result.findings)
    files = result.data["files"]
    assert {f: v["verdict"] for f, v in files.items()} == {
        "m/arrays.npz": "clean", "m/config.json": "not-a-model", "m/emb.npy": "clean", "m/model.safetensors": "clean",
        "m/ok.pt": "clean", "m/old.bin": "clean", "m/params.pkl": "clean",
    }
    assert {"picklescan", "modelscan", "allow-list policy"} <= set(files["m/params.pkl"]["scanned_by"])
    assert set(result.data["artifacts"]) == set(files)
    assert {"picklescan", "modelscan", "fickling", "allow-list policy", "mlsec parsers"} <= set(result.data["scanners"])


@pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")
@pytest.mark.parametrize("name, content", [
    ("random.pkl", NOISE(4096)),
    ("random.pt", b"\x8a" + NOISE(4096)),
    ("empty.pkl", b""),
    ("truncated.pkl", pickle.dumps({"a": list(range(200))})[:-40]),
    ("trailing.pkl", pickle.dumps({"a": 1}) + b"\x00garbage"),
    ("broken.npy", b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f8', 'shape': (9"),
    ("short.npy", b"\x93NUMPY\x01\x00\x76\x00" + b"{'descr': '<f8', 'fortran_order': False, 'shape': (100,), }"
                                                   .ljust(118) + b"\n" + b"\0" * 16),
    ("bad.safetensors", (10**9).to_bytes(8, "little") + b"{}"),
    ("model.onnx", b"\x08\x07onnx-ish"),
    ("corrupt.zip", b"PK\x03\x04" + NOISE(200)),
])
def test_unparseable_or_unsupported_is_error_never_pass(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    result = scan(tmp_path, name)
    assert result.status == "error", (name, result.summary, result.findings)
    assert result.findings and result.findings[0].ref == name


def test_truncated_safetensors_is_error(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.ones((4, 4), dtype=np.float32)}, str(tmp_path / "full.safetensors"))
    (tmp_path / "cut.safetensors").write_bytes((tmp_path / "full.safetensors").read_bytes()[:-10])
    assert scan(tmp_path, "cut.safetensors").status == "error"


def test_glob_matching_nothing_is_error(tmp_path):
    result = scan(tmp_path, "models/**/*.pt")
    assert result.status == "error" and "no artifact found" in result.summary


def test_only_documentation_matched_is_error(tmp_path):
    (tmp_path / "README.md").write_text("# model card")
    assert scan(tmp_path, "*.md").status == "error"


def test_failed_wins_over_error_and_lists_both(tmp_path):
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Payload()))
    (tmp_path / "junk.pkl").write_bytes(NOISE(300))
    result = scan(tmp_path, "*.pkl", "missing/*.pt")
    assert result.status == "failed"
    titles = [f.title for f in result.findings]
    assert "artifact could not be parsed" in titles and "no artifact found" in titles


def test_symlink_leaving_the_roots_is_not_read(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "evil.pkl").write_bytes(pickle.dumps(Payload()))
    (root / "link.pkl").symlink_to(outside / "evil.pkl")
    result = run_check(KEY, make_ctx(root, model_artifacts=["*.pkl"]))
    assert result.status == "error"
    assert result.findings[0].title == "outside the allowed check roots"
    assert result.data["artifacts"] == {}
