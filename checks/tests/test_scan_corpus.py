"""The corpus of done-when item 1: every hand-written bypass is flagged, no benign library output is.

The bypass files are assembled opcode by opcode (:mod:`checks.scan_corpus`): each code-executing
callable as ``GLOBAL``, ``STACK_GLOBAL``, memo-indirected ``STACK_GLOBAL``, a nested pickle handed
to a loader, and ``INST``.  The benign files are written by NumPy, PyTorch, joblib + scikit-learn and
pickle.  ``manage.py bench_model_scan`` prints the same rates for docs/checks.md.
"""

from __future__ import annotations

import pytest

from checks.runners import run_check
from checks.scan_corpus import BYPASS_TARGETS, FORMS, write_benign_corpus, write_bypass_corpus

from .conftest import make_ctx


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    expected = write_bypass_corpus(root / "bad")
    benign = write_benign_corpus(root / "good")
    return root, expected, benign


def scan(root, pattern):
    return run_check("model-serialization", make_ctx(root, source_path=str(root), model_artifacts=[pattern]))


def test_every_bypass_form_of_every_code_executing_callable_is_flagged(corpus):
    root, expected, _ = corpus
    assert len(BYPASS_TARGETS) >= 15 and len(expected) == len(BYPASS_TARGETS) * len(FORMS)
    result = scan(root, "bad/*")
    assert result.status == "failed"
    missed = []
    for name, target in expected.items():
        ref = f"bad/{name}"
        named = any(target in f.title and f.severity in ("high", "critical") for f in result.findings if f.ref == ref)
        if result.data["files"][ref]["verdict"] != "dangerous" or not named:
            missed.append((name, target))
    assert missed == [], f"detection {1 - len(missed) / len(expected):.1%}"


def test_benign_files_from_real_libraries_are_never_flagged(corpus):
    root, _, benign = corpus
    assert {"torch-state-dict.pt", "torch-legacy.pth", "np-objects.npy", "sklearn-forest.joblib",
            "sklearn-pipeline-gzip.joblib", "joblib-object-array.joblib"} <= set(benign)
    result = scan(root, "good/*")
    verdicts = {name: info["verdict"] for name, info in result.data["files"].items()}
    assert result.status == "passed", [f for f in result.findings if f.severity != "info"]
    assert set(verdicts.values()) == {"clean"} and len(verdicts) == len(benign)
    assert all("allow-list policy" in info["scanned_by"] for name, info in result.data["files"].items()
               if not name.endswith((".npz", "np-float.npy", "np-int-fortran.npy", "np-structured.npy")))
