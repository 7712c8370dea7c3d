"""Findings never echo file content: every runner, given files that hold a secret where a parser
would quote it, reports file and line (or position) and never the secret.

Each secret is fresh random key material, the shape a portal key, an API token or a password has.
The whole stored result (summary, findings, data) is searched for it.
"""

from __future__ import annotations

import json
import secrets

import pytest

from checks.runners import REGISTRY, run_check
from checks.runners.base import BaseCheck, CheckResult

from .conftest import make_ctx


def stored(result) -> str:
    return json.dumps(result.as_dict())


@pytest.fixture
def secret() -> str:
    """What var/secret-key.txt holds (one that starts with a letter: a leading "-" reads as an option)."""
    while not (value := secrets.token_urlsafe(50))[0].isalnum():
        pass
    return value


class FakeAdvisories:
    def for_package(self, name):
        return []

    def count(self):
        return 1


def test_a_key_file_given_as_requirements_is_reported_by_file_and_line_not_by_its_text(tmp_path, secret):
    (tmp_path / "secret-key.txt").write_text(secret + "\n")
    result = run_check("dependency-vulnerabilities", make_ctx(
        tmp_path, dependency_files=[str(tmp_path / "secret-key.txt")], advisories=FakeAdvisories()))
    assert secret not in stored(result)
    (finding,) = result.findings
    assert finding.ref == "secret-key.txt:1" and "line 1" in finding.detail


def test_an_env_file_given_as_requirements_quotes_none_of_its_values(tmp_path, secret):
    short = secrets.token_hex(16)
    (tmp_path / ".env").write_text(f"SECRET_KEY={secret}\nAPI_TOKEN = {short}\n{short}\nnumpy\npandas>=2\n")
    result = run_check("dependency-vulnerabilities", make_ctx(
        tmp_path, dependency_files=[str(tmp_path / ".env")], advisories=FakeAdvisories()))
    text = stored(result)
    assert secret not in text and short not in text
    assert {f.ref for f in result.findings} >= {".env:1", ".env:2", ".env:3"}
    assert any("numpy (any version) is not pinned" in f.detail for f in result.findings)  # real names still shown


def test_an_include_or_editable_line_that_looks_like_a_key_is_not_quoted(tmp_path, secret):
    (tmp_path / "requirements.txt").write_text(f"-r {secret}\n-e {secret}\n--requirement={secret}.txt\n")
    result = run_check("dependency-vulnerabilities", make_ctx(
        tmp_path, dependency_files=[str(tmp_path / "requirements.txt")], advisories=FakeAdvisories()))
    assert secret not in stored(result)
    assert {f.ref for f in result.findings} == {"requirements.txt:1", "requirements.txt:2", "requirements.txt:3"}


def test_a_lock_file_names_no_package_that_looks_like_a_key(tmp_path, secret):
    (tmp_path / "poetry.lock").write_text(f'[[package]]\nname = "{secret}"\n\n[[package]]\nname = "numpy"\n')
    result = run_check("dependency-vulnerabilities", make_ctx(
        tmp_path, dependency_files=[str(tmp_path / "poetry.lock")], advisories=FakeAdvisories()))
    assert secret not in stored(result)
    assert any("package #1 has no version" in f.detail for f in result.findings)


def test_a_text_file_that_fails_as_a_pickle_is_not_quoted(tmp_path, secret):
    # Protocol 0: "S" reads a quoted string to the end of the line; the parser's error quotes the line.
    (tmp_path / "model.pkl").write_bytes(f"S{secret}\n.".encode())
    result = run_check("model-serialization", make_ctx(tmp_path, model_artifacts=[str(tmp_path / "model.pkl")]))
    assert result.status == "error"
    assert secret not in stored(result)


def test_a_global_that_is_not_a_python_name_is_not_quoted(tmp_path, secret):
    # "c" (GLOBAL) takes two lines as module and name: a key file beginning with "c" parses as an import.
    (tmp_path / "weights.pkl").write_bytes(f"c{secret}\nx\n.".encode())
    result = run_check("model-serialization", make_ctx(tmp_path, model_artifacts=[str(tmp_path / "weights.pkl")]))
    # Shown as a placeholder, or redacted as token-like: never as read.
    assert any("not a Python name" in f.detail or "[redacted]" in f.detail for f in result.findings)
    assert secret not in stored(result)


def test_a_headerless_csv_whose_first_row_is_a_key_names_columns_by_position(tmp_path, secret):
    # The first row reads like a header (no personal data in it), but its first cell is key material.
    (tmp_path / "export.csv").write_text(f"{secret},id\nana@example.com,1\nben@example.com,2\n")
    result = run_check("dataset-sensitive-data", make_ctx(tmp_path, datasets=[str(tmp_path / "export.csv")]))
    assert result.status == "failed"
    assert secret not in stored(result)
    assert any("column 1" in f.title for f in result.findings)


def test_json_keys_that_look_like_keys_are_not_quoted(tmp_path, secret):
    (tmp_path / "users.jsonl").write_text(json.dumps({secret: "ana@example.com"}) + "\n")  # pragma: allowlist secret
    result = run_check("dataset-sensitive-data", make_ctx(tmp_path, datasets=[str(tmp_path / "users.jsonl")]))
    assert result.status == "failed" and secret not in stored(result)


# AWS's documentation example, assembled so that this file holds no credential-shaped literal.
AWS_EXAMPLE = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"


def test_secrets_and_bandit_findings_quote_no_credential(tmp_path, secret):
    (tmp_path / "settings.py").write_text(f'password = "{secret}"\nTOKEN = {secret!r}\n'
                                          f'AWS_SECRET_ACCESS_KEY = "{AWS_EXAMPLE}"\n')
    for key in ("source-secrets", "source-static-analysis"):
        result = run_check(key, make_ctx(tmp_path, source_path=str(tmp_path)))
        text = stored(result)
        assert secret not in text and "bPxRfiCYEXAMPLEKEY" not in text, key
        assert result.findings, key


def test_model_integrity_reports_digests_not_content(tmp_path, secret):
    (tmp_path / "model.bin").write_text(secret)
    result = run_check("model-integrity", make_ctx(tmp_path, model_artifacts=[str(tmp_path / "model.bin")]))
    assert result.status == "passed" and secret not in stored(result)


def test_the_authentication_check_quotes_nothing_the_endpoint_sent(tmp_path, serve, secret):
    server = serve(status=500, headers={"X-Debug": secret, "Location": f"https://idp.example/?t={secret}"})
    result = run_check("endpoint-authentication", make_ctx(tmp_path, endpoint_url=f"http://127.0.0.1:{server.port}/"))
    assert secret not in stored(result)


class Quoting(BaseCheck):
    key = "quoting"
    title = practices = default_schedule = description = "x"
    time_limit_s = 5

    def applies(self, targets) -> bool:
        return True

    def run(self, ctx) -> CheckResult:
        raise KeyError(open(ctx.targets.source_path).read())


def test_a_crashing_runner_is_reported_by_exception_type_only(tmp_path, secret, monkeypatch):
    (tmp_path / "line.txt").write_text(f"{secrets.token_hex(4)} {secret[:20]}")
    monkeypatch.setitem(REGISTRY, "quoting", Quoting)
    result = run_check("quoting", make_ctx(tmp_path, source_path=str(tmp_path / "line.txt")))
    assert result.status == "error" and result.summary.startswith("check crashed: KeyError")
    assert secret[:20] not in stored(result)
