"""The allow-list policy: every import a pickle would make is listed and judged, without loading it.

Pickles here are assembled opcode by opcode (``checks.scan_corpus``) or written by ``pickle.dumps``
of plain data; nothing is ever unpickled.
"""

from __future__ import annotations

import io
import pickle
import struct

import numpy as np
import pytest

from checks.runners import run_check
from checks.runners.artifact_scan import KNOWN_SCANNER_FALSE_POSITIVES
from checks.runners.pickle_allowlist import CRITICAL_MODULES, SAFE_GLOBALS, critical_reason
from checks.runners.pickle_policy import PickleParseError, analyze_bytes, evaluate
from checks.scan_corpus import _text, global_form, memo_form, nested_form, stack_global_form

from .conftest import make_ctx

MLFLOW = ("mlflow.projects.backend.local", "_run_entry_point")


def judge(data: bytes, extra=None):
    return evaluate(analyze_bytes(data), extra)


def names(verdict, severity=None):
    return {f.name for f in verdict.findings if severity is None or f.severity == severity}


def test_the_mlflow_entry_point_of_modelscan_338_fails_the_check(tmp_path):
    (tmp_path / "model.pkl").write_bytes(stack_global_form(*MLFLOW))
    result = run_check("model-serialization", make_ctx(tmp_path, source_path=str(tmp_path),
                                                       model_artifacts=["model.pkl"]))
    assert result.status == "failed", result.summary
    finding = next(f for f in result.findings if f.severity == "critical")
    assert "mlflow.projects.backend.local._run_entry_point" in finding.title
    assert "allow-list" in finding.detail


def test_an_import_no_blocklist_knows_is_high_not_a_pass(tmp_path):
    (tmp_path / "model.pkl").write_bytes(stack_global_form("acme_mlops.hooks", "run"))
    result = run_check("model-serialization", make_ctx(tmp_path, source_path=str(tmp_path),
                                                       model_artifacts=["model.pkl"]))
    assert result.status == "failed"
    finding = next(f for f in result.findings if "acme_mlops.hooks.run" in f.title)
    assert finding.severity == "high" and "not on the allow-list" in finding.detail
    assert result.data["files"]["model.pkl"]["opinions"]["allow-list"] == "dangerous"


def test_plain_data_lists_only_allowed_reconstructors():
    data = {"a": np.arange(3), "b": {1, 2}, "c": b"\x00raw"}
    for protocol in range(6):
        verdict = judge(pickle.dumps(data, protocol=protocol))
        assert not verdict.findings, (protocol, verdict.findings)
        assert "numpy.dtype" in verdict.allowed


def test_strings_fetched_back_from_the_memo_name_the_import():
    for variant in range(4):  # MEMOIZE/BINGET, BINPUT/BINGET, LONG_BINPUT/LONG_BINGET, PUT/GET
        verdict = judge(memo_form("os", "system", variant))
        assert "os.system" in names(verdict, "critical"), variant
        assert verdict.allowed == {"collections.OrderedDict": "default"}


def test_stack_global_on_a_computed_value_is_critical():
    # STACK_GLOBAL's module comes from a call result, not a string: no pickler writes this
    data = (b"\x80\x04" + _text("builtins") + _text("str") + b"\x93" + _text("o") + b"\x85R" + _text("s")
            + b"\x93" + b")R.")
    verdict = judge(data)
    assert any(f.name == "import whose name is computed while loading" and f.severity == "critical"
               for f in verdict.findings)


def test_nested_pickles_are_listed_with_their_loader():
    for variant in range(6):
        verdict = judge(nested_form("subprocess", "Popen", variant))
        flagged = names(verdict, "critical")
        assert "subprocess.Popen" in flagged, variant
        assert flagged & {"pickle.loads", "_pickle.loads", "dill.loads", "torch.storage._load_from_bytes"}


def test_unparseable_bytes_handed_to_a_loader_are_a_finding():
    data = b"\x80\x04" + _text("pickle") + _text("loads") + b"\x93" + b"C\x06\x80\x04junk" + b"\x85R."
    verdict = judge(data)
    assert "nested pickle could not be parsed" in {f.name for f in verdict.findings}


def test_python2_names_are_mapped_as_the_unpickler_maps_them_below_protocol_3():
    verdict = judge(b"\x80\x02c__builtin__\neval\n(S'1'\ntR.")
    assert "builtins.eval" in names(verdict, "critical")
    assert not judge(b"\x80\x02ccopy_reg\n_reconstructor\n.").findings  # copyreg._reconstructor: allowed


def test_dotted_attribute_paths_are_never_allowed():
    # protocol 4 lets the name walk attributes: collections.OrderedDict.fromkeys.__globals__ ...
    verdict = judge(b"\x80\x04" + _text("collections") + _text("OrderedDict.__init__") + b"\x93.")
    assert names(verdict, "high") == {"collections.OrderedDict.__init__"}
    verdict = judge(b"\x80\x04" + _text("torch") + _text("utils.collect_env.run") + b"\x93.")
    assert names(verdict, "critical") == {"torch.utils.collect_env.run"}


def test_modifying_an_imported_object_is_critical():
    # BUILD on the class itself: setattr(collections.OrderedDict, ...) would monkey-patch it for everyone
    data = global_form("collections", "OrderedDict")[:-len(b"(S'id'\ntR.")] + b"}" + _text("x") + b"K\x01s" + b"b."
    verdict = judge(data)
    assert any(f.name.startswith("modifies the imported object") and f.severity == "critical"
               for f in verdict.findings)


def test_extension_codes_are_a_finding():
    assert any("extension registry" in f.name for f in judge(b"\x80\x02\x82\x05).").findings)


def test_inst_and_obj_import_and_call():
    assert "posix.system" in names(judge(b"(S'id'\niposix\nsystem\n."), "critical")
    assert "nt.system" in names(judge(b"(cnt\nsystem\nS'id'\no."), "critical")


def test_a_team_extra_allows_an_unknown_name_but_never_a_critical_one():
    data = stack_global_form("acme.layers", "Custom")
    assert names(judge(data)) == {"acme.layers.Custom"}
    verdict = judge(data, {"acme.layers.Custom": "reviewed"})
    assert not verdict.findings and verdict.allowed == {"acme.layers.Custom": "team"}
    assert "os.system" in names(judge(stack_global_form("os", "system"), {"os.system": "we trust it"}), "critical")


def test_garbage_and_truncated_pickles_do_not_parse():
    for data in (b"", b"\x80\x04\x95garbage", pickle.dumps([1, 2, 3])[:-3], pickle.dumps(1) + b"\x00tail",
                 b"\x80\x04h\x05."):  # a memo key that was never stored
        with pytest.raises(PickleParseError):
            analyze_bytes(data)


def test_a_huge_length_prefix_does_not_allocate():
    with pytest.raises(PickleParseError):
        analyze_bytes(b"\x80\x04\x8e" + struct.pack("<Q", 2**60) + b"short")


def test_joblib_array_data_is_skipped_as_joblib_reads_it_and_hidden_opcodes_are_still_found(tmp_path):
    import joblib

    joblib.dump({"w": np.arange(4, dtype=np.int64)}, tmp_path / "ok.joblib")
    data = (tmp_path / "ok.joblib").read_bytes()
    clean = analyze_bytes(data)
    assert clean.joblib_arrays == 1 and not evaluate(clean).findings
    # joblib reads [padding length][padding][array bytes] as data; pickle.load would read them as opcodes.
    # A hostile file picks a padding length that is itself an opcode (78 = NONE) and hides a payload in it.
    raw = np.arange(4, dtype=np.int64).tobytes()
    start = data.index(raw)
    pad = next(j for j in range(start - 1, start - 66, -1) if data[j] == start - j - 1)
    payload = b"cos\nsystem\n(S'id'\ntR0"
    hostile = data[:pad] + bytes([78]) + payload.ljust(78, b"N") + data[start:]
    assert analyze_bytes(hostile).joblib_arrays == 1  # joblib's reading still parses ...
    verdict = evaluate(analyze_bytes(hostile))
    assert "os.system" in names(verdict, "critical")  # ... and the pickle.load reading finds the payload
    site = analyze_bytes(hostile).imports["os.system"]
    assert any(form.startswith("pickle.load reading") for form in site.forms)


def test_the_fickling_false_positive_on_joblib_is_documented_and_narrow():
    assert set(KNOWN_SCANNER_FALSE_POSITIVES) == {("fickling", "joblib.numpy_pickle.NumpyArrayWrapper")}
    assert "joblib.numpy_pickle.NumpyArrayWrapper" in SAFE_GLOBALS


def test_the_allow_list_holds_no_loader_and_no_known_code_execution():
    loaders = {"numpy.load", "torch.load", "joblib.load", "pickle.loads", "numpy.testing._private.utils.runstring"}
    assert not loaders & set(SAFE_GLOBALS)
    overlap = {n for n in SAFE_GLOBALS if n in ("builtins.eval", "builtins.getattr") or
               any(n.startswith(m + ".") for m in ("os", "subprocess", "runpy", "importlib"))}
    assert not overlap
    assert critical_reason("mlflow.projects.backend.local._run_entry_point")
    assert "sys" in CRITICAL_MODULES


def test_scanner_disagreement_is_shown(tmp_path):
    (tmp_path / "m.pkl").write_bytes(memo_form("mlflow.utils.process", "_exec_cmd", 1))
    result = run_check("model-serialization", make_ctx(tmp_path, source_path=str(tmp_path),
                                                       model_artifacts=["m.pkl"]))
    opinions = result.data["files"]["m.pkl"]["opinions"]
    assert opinions["allow-list"] == "dangerous" and "clean" in opinions.values()
    disagreement = next(f for f in result.findings if f.title.startswith("scanners disagree"))
    assert "allow-list: dangerous" in disagreement.detail


def test_findings_never_echo_unprintable_or_token_like_names(tmp_path):
    secret = "AKIAIOSFODNN7EXAMPLEKEY1234"  # pragma: allowlist secret
    (tmp_path / "a.pkl").write_bytes(stack_global_form(f"x{secret}", "run"))
    (tmp_path / "b.pkl").write_bytes(stack_global_form("evil\nmodule", "run\x1b[2J"))
    result = run_check("model-serialization", make_ctx(tmp_path, source_path=str(tmp_path),
                                                       model_artifacts=["*.pkl"]))
    assert result.status == "failed"
    text = repr([f.as_dict() for f in result.findings]) + repr(result.data)
    assert secret not in text and "\x1b" not in text and "evil\nmodule" not in text


def test_big_pickles_are_walked_in_bounded_memory():
    data = pickle.dumps([float(i) for i in range(200_000)], protocol=4)
    analysis = analyze_bytes(data)
    assert analysis.opcodes > 200_000 and not analysis.imports
    assert isinstance(io.BytesIO(data), io.BytesIO)


def test_docs_list_the_whole_allow_list_and_its_version():
    from pathlib import Path

    from checks.runners.pickle_allowlist import POLICY_VERSION

    docs = (Path(__file__).resolve().parents[2] / "docs" / "checks.md").read_text()
    assert f"policy version `{POLICY_VERSION}`" in docs
    assert [name for name in SAFE_GLOBALS if f"`{name}`" not in docs] == []
    assert [name for name in CRITICAL_MODULES if f"`{name}`" not in docs] == []
