"""dependency-vulnerabilities: pinned versions against a fake advisory source."""

from __future__ import annotations

from checks.runners import run_check
from checks.runners.osv import normalize_name

from .conftest import make_ctx

KEY = "dependency-vulnerabilities"

ADVISORIES = [
    {
        "id": "GHSA-xxxx-yyyy-zzzz", "aliases": ["CVE-2020-14343"], "summary": "arbitrary code execution",
        "database_specific": {"severity": "CRITICAL"},
        "affected": [{"package": {"ecosystem": "PyPI", "name": "PyYAML"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.4"}]}]}],
    },
    {
        "id": "PYSEC-2099-7", "aliases": ["CVE-2099-0007"],
        "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"}, "versions": ["2.19.0"]}],
    },
    {
        "id": "PYSEC-2099-8", "withdrawn": "2099-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
    },
    {
        "id": "GHSA-npm-only",
        "affected": [{"package": {"ecosystem": "npm", "name": "requests"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
    },
]


class FakeAdvisories:
    """A fake AdvisorySource: indexes records by normalised affected package name."""

    def __init__(self, records: list[dict]) -> None:
        self.records = records
        self.asked: list[str] = []

    def for_package(self, normalized_name: str) -> list[dict]:
        self.asked.append(normalized_name)
        return [r for r in self.records if any(normalize_name(a["package"]["name"]) == normalized_name
                                                for a in r.get("affected", []))]

    def count(self) -> int:
        return len(self.records)


def test_vulnerable_pin_fails_with_full_detail(tmp_path):
    (tmp_path / "requirements.txt").write_text("pyyaml==5.3.1\nrequests==2.19.0\nflask>=2\n")
    source = FakeAdvisories(ADVISORIES)
    result = run_check(KEY, make_ctx(tmp_path, source_path=str(tmp_path), dependency_files=["requirements.txt"],
                                     advisories=source))
    assert result.status == "failed", result.summary
    titles = [f.title for f in result.findings]
    assert "pyyaml 5.3.1: GHSA-xxxx-yyyy-zzzz" in titles
    assert "requests 2.19.0: PYSEC-2099-7" in titles
    assert not any("PYSEC-2099-8" in t or "GHSA-npm-only" in t for t in titles)  # withdrawn / other ecosystem
    yaml = next(f for f in result.findings if "GHSA-xxxx" in f.title)
    assert yaml.severity == "critical" and yaml.ref == "GHSA-xxxx-yyyy-zzzz"
    assert "CVE-2020-14343" in yaml.detail and "fixed in: 5.4" in yaml.detail and "5.3.1" in yaml.detail
    assert next(f for f in result.findings if "PYSEC-2099-7" in f.title).severity == "high"
    assert any(f.title == "unpinned requirement" and f.severity == "low" for f in result.findings)
    assert result.data["vulnerable_packages"] == 2


def test_clean_pins_pass_and_unpinned_are_listed(tmp_path):
    (tmp_path / "requirements.txt").write_text("PyYAML==6.0.1\nrequests==2.32.0\nnumpy\n")
    result = run_check(KEY, make_ctx(tmp_path, dependency_files=["requirements.txt"],
                                     advisories=FakeAdvisories(ADVISORIES)))
    assert result.status == "passed", result.summary
    assert [f.severity for f in result.findings] == ["low"]
    assert "not pinned" in result.summary


def test_no_advisory_data_is_error(tmp_path):
    (tmp_path / "requirements.txt").write_text("pyyaml==5.3.1\n")
    for advisories in (None, FakeAdvisories([])):
        result = run_check(KEY, make_ctx(tmp_path, dependency_files=["requirements.txt"], advisories=advisories))
        assert result.status == "error" and "no advisory data imported" in result.summary


def test_missing_file_is_error_but_known_vulnerability_wins(tmp_path):
    source = FakeAdvisories(ADVISORIES)
    result = run_check(KEY, make_ctx(tmp_path, dependency_files=["nope.txt"], advisories=source))
    assert result.status == "error"
    (tmp_path / "req.txt").write_text("pyyaml==5.3.1\n-r missing-include.txt\n")
    result = run_check(KEY, make_ctx(tmp_path, dependency_files=["req.txt", "nope.txt"], advisories=source))
    assert result.status == "failed"
    assert sum(f.title == "dependency file problem" for f in result.findings) == 2


def test_dependency_file_outside_roots_is_error(tmp_path):
    result = run_check(KEY, make_ctx(tmp_path / "root", dependency_files=[str(tmp_path / "elsewhere.txt")],
                                     advisories=FakeAdvisories(ADVISORIES)))
    assert result.status == "error"
    assert any("outside the allowed check roots" in f.title for f in result.findings)


def test_not_applicable_without_files(tmp_path):
    assert run_check(KEY, make_ctx(tmp_path, advisories=FakeAdvisories(ADVISORIES))).status == "skipped"
