"""OSV matching: versions lists, ECOSYSTEM ranges, withdrawn, ecosystems, loading exports."""

from __future__ import annotations

import json
import zipfile

import pytest

from checks.runners.osv import (
    MemoryAdvisorySource,
    cvss3_base_score,
    fixed_versions,
    is_affected,
    iter_osv_records,
    normalize_name,
    record_severity,
)


def record(events=None, versions=None, name="demo", ecosystem="PyPI", **extra) -> dict:
    affected: dict = {"package": {"ecosystem": ecosystem, "name": name}}
    if events is not None:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions is not None:
        affected["versions"] = versions
    return {"id": extra.pop("id", "PYSEC-2099-1"), "affected": [affected], **extra}


def test_normalize_name_pep503():
    assert normalize_name("PyYAML") == normalize_name("pyyaml") == "pyyaml"
    assert normalize_name("Py_YAML") == normalize_name("py.yaml") == normalize_name("PY-yaml") == "py-yaml"
    # PEP 503 keeps a separator: "Py_YAML" is *not* "pyyaml" (conflating them would match typosquats)
    assert normalize_name("Py_YAML") != normalize_name("pyyaml")
    assert normalize_name("zope.interface") == "zope-interface"
    assert normalize_name("Foo__Bar--baz") == "foo-bar-baz"


def test_explicit_versions_list_uses_pep440_equality():
    rec = record(versions=["1.0", "1.1"])
    assert is_affected(rec, "demo", "1.0")
    assert is_affected(rec, "demo", "1.0.0")  # PEP 440: 1.0 == 1.0.0
    assert not is_affected(rec, "demo", "1.2")


def test_introduced_zero_and_fixed():
    rec = record(events=[{"introduced": "0"}, {"fixed": "2.0.1"}])
    assert is_affected(rec, "demo", "0.1")
    assert is_affected(rec, "demo", "2.0.0")
    assert is_affected(rec, "demo", "2.0.1rc1")  # pre-release sorts before the fix
    assert not is_affected(rec, "demo", "2.0.1")
    assert not is_affected(rec, "demo", "3.0")


def test_multiple_introduced_fixed_pairs_in_one_range():
    rec = record(events=[{"introduced": "1.0"}, {"fixed": "1.4"}, {"introduced": "2.0"}, {"fixed": "2.2.5"}])
    assert not is_affected(rec, "demo", "0.9")
    assert is_affected(rec, "demo", "1.3.9")
    assert not is_affected(rec, "demo", "1.4")
    assert not is_affected(rec, "demo", "1.9")
    assert is_affected(rec, "demo", "2.1")
    assert not is_affected(rec, "demo", "2.2.5")


def test_events_in_any_order_are_sorted():
    rec = record(events=[{"fixed": "2.2.5"}, {"introduced": "2.0"}, {"fixed": "1.4"}, {"introduced": "1.0"}])
    assert is_affected(rec, "demo", "1.2") and not is_affected(rec, "demo", "1.5")


def test_last_affected_is_inclusive():
    rec = record(events=[{"introduced": "1.0"}, {"last_affected": "1.5"}])
    assert is_affected(rec, "demo", "1.5")
    assert not is_affected(rec, "demo", "1.5.1")
    assert not is_affected(rec, "demo", "0.9")


def test_introduced_without_fix_affects_everything_after():
    assert is_affected(record(events=[{"introduced": "3.0"}]), "demo", "99.0")


def test_withdrawn_record_never_matches():
    rec = record(events=[{"introduced": "0"}], withdrawn="2024-01-01T00:00:00Z")
    assert not is_affected(rec, "demo", "1.0")


def test_other_ecosystem_with_same_name_does_not_match():
    rec = record(events=[{"introduced": "0"}], ecosystem="npm")
    assert not is_affected(rec, "demo", "1.0")


def test_name_normalisation_in_records():
    rec = record(events=[{"introduced": "0"}, {"fixed": "6.0"}], name="PyYAML")
    assert is_affected(rec, "pyyaml", "5.3")
    assert is_affected(rec, "PYYAML", "5.3")
    rec = record(events=[{"introduced": "0"}], name="Py_YAML")
    assert is_affected(rec, "py-yaml", "5.3") and is_affected(rec, "PY.yaml", "5.3")
    assert not is_affected(rec, "pyyaml", "5.3")


def test_git_ranges_ignored_and_semver_parsed():
    rec = {"id": "X", "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"}, "ranges": [
        {"type": "GIT", "repo": "https://example.invalid/r", "events": [{"introduced": "0"}]},
        {"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"fixed": "2.1.0"}]},
    ]}]}
    assert not is_affected(rec, "demo", "1.0")  # only the GIT range would have matched
    assert is_affected(rec, "demo", "2.0.5")


def test_invalid_versions_are_skipped_not_crashing():
    rec = record(events=[{"introduced": "not a version"}, {"introduced": "1.0"}, {"fixed": "also bad"}],
                 versions=["garbage!!"])
    assert is_affected(rec, "demo", "1.2")
    assert not is_affected(rec, "demo", "0.5")
    assert not is_affected(rec, "demo", "also-not-pep440!")  # unparseable package version: only literal list
    assert is_affected(record(versions=["weird-ver!"]), "demo", "weird-ver!")


def test_fixed_versions_sorted_unique():
    rec = record(events=[{"introduced": "0"}, {"fixed": "1.10"}, {"introduced": "2.0"}, {"fixed": "2.0.3"},
                         {"fixed": "1.10"}])
    assert fixed_versions(rec, "demo") == ["1.10", "2.0.3"]
    assert fixed_versions(rec, "other") == []


def test_severity_mapping():
    assert record_severity({"database_specific": {"severity": "MODERATE"}}) == "medium"
    assert record_severity({"database_specific": {"severity": "CRITICAL"}}) == "critical"
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert cvss3_base_score(vector) == 9.8
    assert cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N") == 6.1
    assert record_severity({"severity": [{"type": "CVSS_V3", "score": vector}]}) == "critical"
    assert record_severity({}) == "high"


def test_iter_records_from_zip_and_folder(tmp_path):
    good = record(events=[{"introduced": "0"}], id="GHSA-aaaa")
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("GHSA-aaaa.json", json.dumps(good))
        zf.writestr("README.txt", "not json, skipped silently")
        zf.writestr("broken.json", "{not json")
        zf.writestr("list.json", "[1, 2]")
    errors: list[str] = []
    records = list(iter_osv_records(str(archive), errors))
    assert [r["id"] for r in records] == ["GHSA-aaaa"]
    assert len(errors) == 2 and any("broken.json" in e for e in errors)

    folder = tmp_path / "osv"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.json").write_text(json.dumps(good))
    (folder / "nested" / "b.json").write_text(json.dumps({**good, "id": "PYSEC-b"}))
    (folder / "nested" / "bad.json").write_bytes(b"\xff\xfe")
    (folder / "notes.md").write_text("skip")
    seen: list[str] = []
    ids = sorted(r["id"] for r in iter_osv_records(str(folder), seen.append))
    assert ids == ["GHSA-aaaa", "PYSEC-b"] and len(seen) == 1


def test_iter_records_reports_unreadable_source(tmp_path):
    errors: list[str] = []
    assert list(iter_osv_records(str(tmp_path / "missing.zip"), errors)) == []
    assert errors


def test_memory_source_indexes_by_normalised_name():
    source = MemoryAdvisorySource([record(events=[{"introduced": "0"}], name="PyYAML", id="A"),
                                   record(events=[{"introduced": "0"}], name="left-pad", ecosystem="npm", id="B")])
    assert source.count() == 2
    assert [r["id"] for r in source.for_package("pyyaml")] == ["A"]
    assert source.for_package("left-pad") == []


@pytest.mark.parametrize("bad", [None, "x", {"affected": "nope"}, {"affected": [None, {"package": None}]}])
def test_malformed_records_do_not_crash(bad):
    assert is_affected(bad, "demo", "1.0") is False
