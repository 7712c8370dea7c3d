"""model-integrity: first run records the baseline, later runs compare."""

from __future__ import annotations

import hashlib
import os

import pytest

from checks.runners import run_check

from .conftest import make_ctx

KEY = "model-integrity"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def models(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.safetensors").write_bytes(b"A" * 3_000_000)  # > 1 MiB: several chunks
    (tmp_path / "models" / "b.pkl").write_bytes(b"B")
    return tmp_path


def run(root, baseline=None, patterns=("models/*",)):
    return run_check(KEY, make_ctx(root, source_path=str(root), model_artifacts=list(patterns), baseline=baseline))


def test_first_run_records_baseline(models):
    result = run(models)
    assert result.status == "passed"
    assert result.summary == "baseline recorded for 2 artifacts"
    assert result.data["baseline_recorded"] is True
    assert result.data["artifacts"] == {"models/a.safetensors": digest(b"A" * 3_000_000),
                                        "models/b.pkl": digest(b"B")}


def test_identical_artifacts_pass(models):
    baseline = run(models).data["artifacts"]
    result = run(models, baseline)
    assert result.status == "passed" and "baseline_recorded" not in result.data


def test_absolute_baseline_keys_are_understood(models):
    baseline = {str(models / k): v for k, v in run(models).data["artifacts"].items()}
    assert run(models, baseline).status == "passed"


def test_changed_added_missing_fail_naming_each(models):
    baseline = run(models).data["artifacts"]
    (models / "models" / "b.pkl").write_bytes(b"tampered")
    (models / "models" / "c.pt").write_bytes(b"new")
    os.remove(models / "models" / "a.safetensors")
    result = run(models, baseline)
    assert result.status == "failed"
    by_title = {f.title: f for f in result.findings}
    assert by_title["artifact changed: models/b.pkl"].severity == "high"
    assert by_title["artifact added: models/c.pt"].severity == "medium"
    assert by_title["artifact missing: models/a.safetensors"].severity == "high"
    assert result.data["artifacts"]["models/b.pkl"] == digest(b"tampered")


def test_everything_gone_with_a_baseline_fails(models):
    baseline = run(models).data["artifacts"]
    for name in os.listdir(models / "models"):
        os.remove(models / "models" / name)
    result = run(models, baseline)
    assert result.status == "failed" and len(result.findings) == 3  # 2 missing + "no artifact found"


def test_no_match_without_baseline_is_error(tmp_path):
    result = run(tmp_path, patterns=("nothing/*.bin",))
    assert result.status == "error" and "no artifact found" in result.summary


def test_unreadable_is_error_via_oserror(models, monkeypatch):
    import checks.runners.model_integrity as module

    def fail(path):
        raise PermissionError("denied")

    monkeypatch.setattr(module, "sha256_file", fail)
    result = run(models)
    assert result.status == "error" and "baseline_recorded" not in result.data


def test_outside_roots_is_error(tmp_path):
    (tmp_path / "root").mkdir()
    result = run(tmp_path / "root", patterns=("/etc/hostname",))
    assert result.status == "error" and result.findings[0].title == "outside the allowed check roots"
