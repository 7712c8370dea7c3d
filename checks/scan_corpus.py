"""The model-scanning corpus: hand-assembled bypass pickles and benign files made by real libraries.

Used by the tests (``checks/tests/test_scan_corpus.py``) and by ``manage.py bench_model_scan``, which
prints the detection and false-positive rates written into ``docs/checks.md``.  Nothing here ever
unpickles: the malicious files are opcodes written byte by byte; the benign ones come from
``numpy.save``, ``torch.save``, ``joblib.dump`` and ``pickle.dumps`` of plain data.
"""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path

#: Code-executing callables (module, name).  The first five come from the issue and the published
#: scanner bypasses; the others are standard-library and ML-package callables that run commands, code,
#: imports, file or network access.  The last two are *unknown* to every blocklist.
BYPASS_TARGETS: tuple[tuple[str, str], ...] = (
    ("os", "system"),
    ("torch.utils.collect_env", "run"),
    ("mlflow.projects.backend.local", "_run_entry_point"),
    ("mlflow.utils.process", "_exec_cmd"),
    ("pickle", "loads"),
    ("posix", "system"),
    ("subprocess", "Popen"),
    ("subprocess", "check_output"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "__import__"),
    ("builtins", "getattr"),
    ("runpy", "_run_code"),
    ("runpy", "run_path"),
    ("importlib", "import_module"),
    ("pty", "spawn"),
    ("timeit", "timeit"),
    ("cProfile", "run"),
    ("pdb", "run"),
    ("pydoc", "pipepager"),
    ("webbrowser", "open"),
    ("shutil", "rmtree"),
    ("ctypes", "CDLL"),
    ("marshal", "loads"),
    ("operator", "methodcaller"),
    ("code", "InteractiveInterpreter"),
    ("asyncio.subprocess", "create_subprocess_shell"),
    ("numpy.testing._private.utils", "runstring"),
    ("numpy", "load"),
    ("torch", "load"),
    ("torch.hub", "load"),
    ("torch.jit", "load"),
    ("torch.utils.cpp_extension", "load_inline"),
    ("pandas", "read_pickle"),
    ("joblib", "load"),
    ("dill", "loads"),
    ("keras.models", "load_model"),
    ("sklearn.utils._testing", "assert_run_python_script_without_output"),
    ("mlops_hooks.runtime", "run_command"),
)
FORMS = ("GLOBAL", "STACK_GLOBAL", "memo", "nested", "INST")


# --- a tiny pickle assembler --------------------------------------------------------------------

def _text(value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) < 256:
        return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE
    return b"X" + struct.pack("<I", len(raw)) + raw  # BINUNICODE


def _bytes(value: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(value)) + value  # BINBYTES


def global_form(module: str, name: str) -> bytes:
    """Protocol 0: ``GLOBAL``, a marked string argument, ``TUPLE``, ``REDUCE``."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n" + b"(S'id'\ntR."


def stack_global_form(module: str, name: str) -> bytes:
    """Protocol 4: ``STACK_GLOBAL`` on two pushed strings (modelscan #85)."""
    return b"\x80\x04" + _text(module) + _text(name) + b"\x93" + _text("id") + b"\x85R."


def memo_form(module: str, name: str, variant: int) -> bytes:
    """``STACK_GLOBAL`` whose strings were stored in the memo, popped, and fetched back."""
    puts = [
        (b"\x94", b"\x94", b"h\x00", b"h\x01"),  # MEMOIZE ... BINGET
        (b"q\x07", b"q\x09", b"h\x07", b"h\x09"),  # BINPUT ... BINGET
        (b"r" + struct.pack("<I", 70000), b"r" + struct.pack("<I", 70001),
         b"j" + struct.pack("<I", 70000), b"j" + struct.pack("<I", 70001)),  # LONG_BINPUT ... LONG_BINGET
        (b"p3\n", b"p4\n", b"g3\n", b"g4\n"),  # PUT ... GET (text)
    ][variant % 4]
    put_module, put_name, get_module, get_name = puts
    decoy = _text("collections") + _text("OrderedDict") + b"\x93" + b")R0"  # an allowed import first
    return (b"\x80\x04" + decoy + _text(module) + put_module + b"0" + _text(name) + put_name + b"0"
            + get_module + get_name + b"\x93" + _text("id") + b"\x85R.")


def nested_form(module: str, name: str, variant: int) -> bytes:
    """A pickle handing the bytes of another pickle to a loader (modelscan #267)."""
    inner = stack_global_form(module, name) if variant % 2 else global_form(module, name)
    loader = [("pickle", "loads"), ("_pickle", "loads"), ("dill", "loads"), ("torch.storage", "_load_from_bytes")][
        variant % 4]
    if variant % 3 == 2:  # protocol 2: the bytes travel as _codecs.encode(str, 'latin1'), as pickle writes them
        payload = b"c_codecs\nencode\n" + b"X" + struct.pack("<I", len(inner.decode("latin-1").encode()))
        payload += inner.decode("latin-1").encode() + b"X\x06\x00\x00\x00latin1" + b"\x86R"
        return b"\x80\x02c" + loader[0].encode() + b"\n" + loader[1].encode() + b"\n" + payload + b"\x85R."
    return b"\x80\x04" + _text(loader[0]) + _text(loader[1]) + b"\x93" + _bytes(inner) + b"\x85R."


def inst_form(module: str, name: str) -> bytes:
    """Protocol 0 ``INST``: import and call in one opcode."""
    return b"(S'id'\ni" + module.encode() + b"\n" + name.encode() + b"\n."


def bypass_pickle(module: str, name: str, form: str, variant: int = 0) -> bytes:
    if form == "GLOBAL":
        return global_form(module, name)
    if form == "STACK_GLOBAL":
        return stack_global_form(module, name)
    if form == "memo":
        return memo_form(module, name, variant)
    if form == "nested":
        return nested_form(module, name, variant)
    if form == "INST":
        return inst_form(module, name)
    raise ValueError(form)


def write_bypass_corpus(folder: Path) -> dict[str, str]:
    """One file per target × form; returns file name -> the dotted target it must be flagged for."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for index, (module, name) in enumerate(BYPASS_TARGETS):
        for form in FORMS:
            file_name = f"{index:02d}-{form.lower()}.pkl"
            (folder / file_name).write_bytes(bypass_pickle(module, name, form, index))
            expected[file_name] = f"{module}.{name}"
    return expected


# --- benign files from real libraries ----------------------------------------------------------

def write_benign_corpus(folder: Path) -> list[str]:
    """Benign artifacts made by NumPy, PyTorch, joblib + scikit-learn and pickle; returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    _numpy_files(folder)
    _pickle_files(folder)
    _torch_files(folder)
    _joblib_files(folder)
    return sorted(p.name for p in folder.iterdir())


def _numpy_files(folder: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(7)
    np.save(folder / "np-float.npy", rng.random((4, 3), dtype=np.float32), allow_pickle=False)
    np.save(folder / "np-int-fortran.npy", np.asfortranarray(np.arange(12, dtype=np.int64).reshape(3, 4)))
    np.save(folder / "np-structured.npy", np.array([(1, 2.5)], dtype=[("a", "<i4"), ("b", "<f8")]))
    objects = np.empty(5, dtype=object)
    objects[:] = [{"label": "cat", "score": 0.9}, "text", 3, None, [1, 2, (3, 4)]]
    np.save(folder / "np-objects.npy", objects, allow_pickle=True)
    np.savez(folder / "np-arrays.npz", a=np.arange(5), b=np.ones((2, 2)))
    np.savez_compressed(folder / "np-compressed.npz", a=np.arange(100), objects=objects)
    for protocol in (2, 4, 5):
        (folder / f"np-pickled-p{protocol}.pkl").write_bytes(
            pickle.dumps({"w": rng.random(6), "ids": np.arange(3), "scalar": np.float64(1.5)}, protocol=protocol))


def _pickle_files(folder: Path) -> None:
    import collections
    import datetime as dt

    data = {"weights": [[1.0, 2.0], [3.0]], "name": "model", "tags": {"a", "b"}, "frozen": frozenset({1}),
            "blob": b"\x00\x01binary", "when": dt.datetime(2026, 12, 1, 12, 0), "ordered": collections.OrderedDict(a=1),
            "counts": collections.Counter("abca"), "complex": 1 + 2j}
    for protocol in range(6):
        (folder / f"plain-p{protocol}.pkl").write_bytes(pickle.dumps(data, protocol=protocol))


def _torch_files(folder: Path) -> None:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(8, 4), torch.nn.LayerNorm(4))
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.rand(2, 1, 4, 4)).sum().backward()
    optimizer.step()
    torch.save({**net.state_dict(), "embedding.weight": torch.nn.Embedding(5, 4).weight.detach()},
               folder / "torch-state-dict.pt")
    torch.save(net.state_dict(), folder / "torch-legacy.pth", _use_new_zipfile_serialization=False)
    torch.save({k: v.half() for k, v in net.state_dict().items() if v.is_floating_point()}, folder / "torch-fp16.bin")
    torch.save({k: v.to(torch.bfloat16) for k, v in net.state_dict().items() if v.is_floating_point()},
               folder / "torch-bf16.pt")
    torch.save({"epoch": 3, "model": net.state_dict(), "optimizer": optimizer.state_dict(), "loss": 0.25},
               folder / "torch-checkpoint.ckpt")
    torch.save(torch.arange(6.0).reshape(2, 3), folder / "torch-tensor.pt")
    buffer = io.BytesIO()
    torch.save({"p": torch.nn.Parameter(torch.ones(2))}, buffer)
    (folder / "torch-parameter.pt").write_bytes(buffer.getvalue())


def _joblib_files(folder: Path) -> None:
    import warnings

    import joblib
    import numpy as np
    from sklearn import (
        cluster,
        decomposition,
        ensemble,
        linear_model,
        naive_bayes,
        neighbors,
        pipeline,
        preprocessing,
        svm,
        tree,
    )

    rng = np.random.RandomState(0)
    features = rng.rand(60, 4)
    labels = (features[:, 0] > 0.5).astype(int)
    estimators = {
        "logistic": linear_model.LogisticRegression(), "ridge": linear_model.Ridge(),
        "forest": ensemble.RandomForestClassifier(n_estimators=3, random_state=0),
        "boosting": ensemble.GradientBoostingClassifier(n_estimators=3),
        "hist-boosting": ensemble.HistGradientBoostingClassifier(max_iter=3),
        "tree": tree.DecisionTreeClassifier(), "svc": svm.SVC(), "knn": neighbors.KNeighborsClassifier(),
        "bayes": naive_bayes.GaussianNB(), "kmeans": cluster.KMeans(n_clusters=2, n_init=1, random_state=0),
        "pca": decomposition.PCA(2), "sgd": linear_model.SGDClassifier(random_state=0),
        "pipeline": pipeline.make_pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression()),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, estimator in estimators.items():
            if name in ("pca", "kmeans"):
                estimator.fit(features)
            else:
                estimator.fit(features, labels)
            joblib.dump(estimator, folder / f"sklearn-{name}.joblib")
    joblib.dump(estimators["forest"], folder / "sklearn-forest-zlib.joblib", compress=3)
    joblib.dump(estimators["pipeline"], folder / "sklearn-pipeline-gzip.joblib", compress=("gzip", 3))
    joblib.dump(estimators["logistic"], folder / "sklearn-logistic-bz2.joblib", compress=("bz2", 3))
    joblib.dump(estimators["tree"], folder / "sklearn-tree-xz.joblib", compress=("xz", 3))
    joblib.dump(estimators["knn"], folder / "sklearn-knn-lzma.joblib", compress=("lzma", 3))
    joblib.dump({"objects": np.array([{"a": 1}, "b"], dtype=object), "arr": np.arange(4)},
                folder / "joblib-object-array.joblib")
