"""dataset-sensitive-data: counts of unmasked personal data, never the values."""

from __future__ import annotations

import json

import pytest

from checks.runners import run_check
from checks.runners.pii import detect, has_card, iban_valid, luhn_valid

from .conftest import make_ctx

KEY = "dataset-sensitive-data"

PII_CSV = """\
id,email,card,note
1,alice.smith@example.com,4111111111111111,ok
2,bob@example.org,5500 0000 0000 0004,call +4915112345678
3,carol@example.net,4111-1111-1111-1112,none
4,,,nothing
"""
VALUES = ["alice.smith@example.com", "bob@example.org", "carol@example.net", "4111111111111111",
          "5500 0000 0000 0004", "+4915112345678"]

MASKED_CSV = """\
id,email,card,ssn,phone
1,j***@example.com,**** **** **** 1234,***-**-1234,+49 *** *** 5678
2,a****@example.org,4111 XXXX XXXX 1111,XXX-XX-6789,+1 ***-***-0000
3,x@***.com,XXXX-XXXX-XXXX-4242,***-**-0000,[redacted]
"""


def check(tmp_path, *datasets):
    return run_check(KEY, make_ctx(tmp_path, source_path=str(tmp_path), datasets=list(datasets)))


def test_csv_with_emails_and_cards_fails_without_values(tmp_path):
    (tmp_path / "customers.csv").write_text(PII_CSV)
    result = check(tmp_path, "customers.csv")
    assert result.status == "failed"
    by_title = {f.title: f for f in result.findings}
    email = by_title["unmasked e-mail addresses in column 'email'"]
    assert email.severity == "medium" and email.ref == "customers.csv:email"
    assert email.detail.startswith("3 of 4 sampled rows (75.0%)")
    card = by_title["unmasked payment card numbers in column 'card'"]
    assert card.severity == "high" and card.detail.startswith("2 of 4")  # ...1112 fails Luhn
    assert by_title["unmasked phone numbers (E.164) in column 'note'"].severity == "medium"
    assert "unmasked payment card numbers in column 'note'" not in by_title  # +49151… is a phone, not a card
    stored = json.dumps(result.as_dict())
    for value in VALUES:
        assert value not in stored and value.replace(" ", "") not in stored


def test_masked_csv_passes(tmp_path):
    (tmp_path / "masked.csv").write_text(MASKED_CSV)
    result = check(tmp_path, "masked.csv")
    assert result.status == "passed", result.findings
    assert result.data["files"]["masked.csv"]["rows_sampled"] == 3


def test_jsonl_national_ids_and_nested_keys(tmp_path):
    rows = [{"user": {"ssn": "123-45-6789", "contact": {"mail": "dave@example.com"}}, "iban": "GB82 WEST 1234 5698 7654 32"},
            {"user": {"ssn": "000-12-3456", "nino": "AB 12 34 56 C"}, "iban": "GB00WEST12345698765432"},
            {"user": {"ssn": "912-34-5678"}, "tags": ["x", "eve@example.com"]}]
    (tmp_path / "people.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = check(tmp_path, "*.jsonl")
    assert result.status == "failed"
    titles = {f.title: f for f in result.findings}
    assert titles["unmasked US social security numbers in key 'user.ssn'"].detail.startswith("1 of 3")
    assert "unmasked UK national insurance numbers in key 'user.nino'" in titles
    assert titles["unmasked IBANs in key 'iban'"].detail.startswith("1 of 3")
    assert "unmasked e-mail addresses in key 'user.contact.mail'" in titles
    assert "unmasked e-mail addresses in key 'tags[]'" in titles
    assert all(f.severity == "high" for t, f in titles.items() if "security" in t or "IBAN" in t)


def test_json_array_and_headerless_csv_do_not_leak_through_names(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"users": [{"frank@example.com": "x", "card": 4111111111111111}]}))
    (tmp_path / "raw.csv").write_text("grace@example.com,4111111111111111\nheidi@example.com,5500000000000004\n")
    result = check(tmp_path, "a.json", "raw.csv")
    assert result.status == "failed"
    stored = json.dumps(result.as_dict())
    assert "frank@" not in stored and "grace@" not in stored and "4111111111111111" not in stored
    titles = [f.title for f in result.findings]
    assert "unmasked payment card numbers in key 'card'" in titles
    assert "unmasked e-mail addresses in column 'column 1'" in titles


def test_numbers_failing_luhn_are_not_flagged(tmp_path):
    (tmp_path / "orders.csv").write_text("order,amount\n4111111111111112,10\n1234567812345678,20\n"
                                         "1700000000000,30\n")
    assert check(tmp_path, "orders.csv").status == "passed"


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"email": ["ivan@example.com", "j***@example.com"], "amount": [1.5, 2.0]})
    pq.write_table(table, tmp_path / "t.parquet")
    result = check(tmp_path, "t.parquet")
    assert result.status == "failed" and result.findings[0].detail.startswith("1 of 2")


def test_parquet_without_pyarrow_is_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    (tmp_path / "t.parquet").write_bytes(b"PAR1" + b"\0" * 16 + b"PAR1")
    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    result = check(tmp_path, "t.parquet")
    assert result.status == "error" and "parquet support not installed" in result.findings[0].detail


@pytest.mark.parametrize("name, content", [
    ("broken.parquet", b"PAR1 not really parquet"),
    ("binary.csv", bytes(range(256)) * 4),
    ("bad.json", b"{not json"),
    ("bad.jsonl", b'{"a": 1}\n{broken\n'),
    ("data.xlsx", b"PK\x03\x04"),
])
def test_corrupt_or_unsupported_is_error(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    assert check(tmp_path, name).status == "error"


def test_missing_and_outside_are_error_and_nothing_read(tmp_path):
    assert check(tmp_path, "nope.csv").status == "error"
    (tmp_path / "root").mkdir()
    result = run_check(KEY, make_ctx(tmp_path / "root", datasets=["/etc/passwd"]))
    assert result.status == "error" and result.findings[0].title == "outside the allowed check roots"
    assert result.data["files"] == {}


def test_detectors():
    assert luhn_valid("4111111111111111") and luhn_valid("5500000000000004")
    assert not luhn_valid("4111111111111112") and not luhn_valid("41x1")
    assert has_card("paid with 4111 1111 1111 1111 today")
    assert not has_card("**** **** **** 1234") and not has_card("4111 XXXX XXXX 1111")
    assert not has_card("0000000000000000")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB83WEST12345698765432")
    assert detect("j***@example.com") == [] and detect("***-**-1234") == []
    assert detect("XXXX-XXXX-XXXX-4242") == [] and detect("666-12-3456") == []
    assert detect("+14155552671") == ["phone"] and detect("+1234") == []
    assert detect("AB123456C") == ["nino"] and detect("BG123456A") == [] and detect("QQ123456C") == []  # pragma: allowlist secret
