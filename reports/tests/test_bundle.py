"""The signed ZIP bundle: its manifest matches every file, and both verifiers refuse any tampering.

Each tampered copy is checked by `reports.bundle.verify_bundle` and by the standalone
scripts/verify_bundle.py run as a subprocess (isolated: it cannot import the portal), and both must
agree. Tampered copies are rewritten with the original ZIP entries' attributes, so they are caught
by the content checks (hashes, signature, listing), not merely by the canonical-layout check.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from trestle.oscal.assessment_results import Model as AssessmentResultsModel

from reports.bundle import (
    build_bundle,
    check_member_path,
    evidence_member_path,
    load_private_key,
    manifest_bytes,
    public_key_fingerprint,
    public_key_pem,
    verify_bundle,
)
from reports.tests.sample_dataset import make_dataset, materialise, sample_evidence_files

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "verify_bundle.py"
IN_CI = os.environ.get("CI", "").lower() == "true"


def new_key_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def build(path: Path, pem: str, projects: int = 3) -> dict:
    dataset = make_dataset(projects)
    files = sample_evidence_files(dataset)
    with open(path, "wb") as f:
        return build_bundle(dataset, files, f, pem)


@pytest.fixture(scope="module")
def key_pem() -> str:
    return new_key_pem()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, key_pem) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "bundle.zip"
    build(path, key_pem)
    return path


def run_script(path: Path, fingerprint: str | None = None) -> subprocess.CompletedProcess:
    args = [sys.executable, "-I", str(SCRIPT), str(path)] + (["--fingerprint", fingerprint] if fingerprint else [])
    return subprocess.run(args, capture_output=True, text=True, cwd=path.parent, timeout=60)


def fingerprint_of(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("manifest.json"))["public_key_fingerprint"]


def rewrite(src: Path, dst: Path, change=None, drop=(), add=None) -> Path:
    """Copy a bundle entry by entry with the original attributes, changing, dropping or adding members."""
    change, add = change or {}, add or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", allowZip64=False) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info.filename)
            zout.writestr(info, change[info.filename](data) if info.filename in change else data)
        for name, data in add.items():
            info = zipfile.ZipInfo(name, date_time=zin.infolist()[0].date_time)
            info.compress_type, info.external_attr, info.create_system = zipfile.ZIP_DEFLATED, 0o100644 << 16, 3
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile warns about duplicate names; that is the point
                zout.writestr(info, data)
    return dst


def flip(data: bytes, at: int | None = None) -> bytes:
    at = len(data) // 2 if at is None else at
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


def assert_refused(path: Path, fingerprint: str | None = None, expect: str = "") -> None:
    report = verify_bundle(path, fingerprint)
    assert not report.ok and report.problems
    if expect:
        assert any(re.search(expect, p) for p in report.problems), report.problems
    result = run_script(path, fingerprint)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT VERIFIED" in result.stdout


# --- what the bundle holds --------------------------------------------------------------------------

def test_manifest_matches_every_file_and_the_signature_verifies(bundle, key_pem):
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        body = zf.read("manifest.json")
        manifest = json.loads(body)
        assert body == manifest_bytes(manifest)  # deterministic serialisation
        assert names[:4] == ["report.pdf", "report.csv", "report.json", "oscal-assessment-results.json"]
        assert set(names) == {f["path"] for f in manifest["files"]} | {"manifest.json", "manifest.sig"}
        assert [f["path"] for f in manifest["files"]] == sorted(f["path"] for f in manifest["files"])
        for entry in manifest["files"]:
            data = zf.read(entry["path"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"]
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
        signature = base64.b64decode(zf.read("manifest.sig"))
        assert zf.read("manifest.sig").count(b"\n") == 1 and len(signature) == 64
        public = load_private_key(key_pem).public_key()
        public.verify(signature, body)  # raises if invalid
        assert zf.read("public-key.pem").decode() == public_key_pem(key_pem)
    raw = base64.b64decode(manifest["public_key"])
    assert manifest["public_key_fingerprint"] == "SHA256:" + hashlib.sha256(raw).hexdigest()
    assert manifest["public_key_fingerprint"] == public_key_fingerprint(key_pem)
    assert (manifest["format"], manifest["algorithm"], manifest["as_of"]) == ("mlsec-portal-bundle/1", "Ed25519",
                                                                             "2026-11-29")
    assert manifest["scope"]["kind"] == "team" and manifest["catalog_version"] == "2026.11"


def test_bundle_members_parse_back(bundle, tmp_path):
    expected = materialise(make_dataset(3))
    evidence = sample_evidence_files(make_dataset(3))
    with zipfile.ZipFile(bundle) as zf:
        assert json.loads(zf.read("report.json")) == expected
        rows = list(csv.DictReader(io.StringIO(zf.read("report.csv").decode("utf-8"), newline="")))
        assert len(rows) == 3 * 25
        AssessmentResultsModel.model_validate(json.loads(zf.read("oscal-assessment-results.json")))
        for path, data in evidence.items():
            assert zf.read(path) == data  # the decrypted evidence, byte for byte
        (tmp_path / "report.pdf").write_bytes(zf.read("report.pdf"))
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True).stdout
        assert all(p["name"] in " ".join(text.split()) for p in expected["projects"])


def test_evidence_is_fetched_lazily_once_each(tmp_path, key_pem):
    dataset = make_dataset(3)
    files = sample_evidence_files(dataset)
    calls = []

    def fetcher(path):
        def fetch():
            calls.append(path)
            return files[path]
        return fetch

    manifest = build_bundle(dataset, {p: fetcher(p) for p in files}, io.BytesIO(), key_pem)
    assert sorted(calls) == sorted(files) and len(calls) == len(set(calls))
    assert {f["path"] for f in manifest["files"]} >= set(files)


def test_same_input_gives_the_same_bundle_bytes(tmp_path, key_pem):
    a, b = tmp_path / "a.zip", tmp_path / "b.zip"
    build(a, key_pem)
    build(b, key_pem)
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("path", ["/etc/passwd", "../evil.pdf", "evidence/../../evil", "evidence//x", "./x",
                                  "C:/x.pdf", "evidence\\x.pdf", 'evidence/"q".pdf', "evidence/a\nb", "report.pdf",
                                  "manifest.json", ""])
def test_unsafe_evidence_paths_are_rejected(path, key_pem):
    with pytest.raises(ValueError):
        check_member_path(path)
    dataset = materialise(make_dataset(1))
    dataset["projects"][0]["evidence"][0]["file"] = path
    with pytest.raises(ValueError):
        build_bundle(dataset, {path: b"x"}, io.BytesIO(), key_pem)


def test_missing_or_mismatching_evidence_bytes_are_rejected(key_pem):
    dataset = materialise(make_dataset(1))
    files = sample_evidence_files(dataset)
    first = next(iter(files))
    with pytest.raises(ValueError, match="no bytes"):
        build_bundle(dataset, {k: v for k, v in files.items() if k != first}, io.BytesIO(), key_pem)
    with pytest.raises(ValueError, match="SHA-256"):
        build_bundle(dataset, {**files, first: files[first] + b"!"}, io.BytesIO(), key_pem)


def test_keys_load_from_pem_or_path_and_fingerprints_agree(tmp_path, key_pem):
    path = tmp_path / "signing.pem"
    path.write_text(key_pem)
    assert public_key_fingerprint(key_pem) == public_key_fingerprint(public_key_pem(key_pem))
    assert public_key_pem(str(path)) == public_key_pem(load_private_key(path)) == public_key_pem(key_pem.encode())
    assert re.fullmatch(r"SHA256:[0-9a-f]{64}", public_key_fingerprint(key_pem))
    ec_pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(ValueError):
        load_private_key(ec_pem)
    assert evidence_member_path(7, "KMS policy (v2)/../x.pdf") == "evidence/7-KMS policy (v2)_.._x.pdf"
    assert evidence_member_path(8, "données.pdf") == "evidence/8-données.pdf"


# --- verification -----------------------------------------------------------------------------------

def test_untouched_bundle_verifies_with_both_verifiers(bundle, key_pem):
    fingerprint = public_key_fingerprint(key_pem)
    report = verify_bundle(bundle, fingerprint)
    assert report.ok and not report.problems and report.fingerprint == fingerprint
    assert report.files_checked == len(json.loads(zipfile.ZipFile(bundle).read("manifest.json"))["files"])
    assert verify_bundle(bundle).ok and verify_bundle(bundle).warnings  # no trusted key: ok, with a warning
    assert verify_bundle(io.BytesIO(bundle.read_bytes()), fingerprint.removeprefix("SHA256:").upper()).ok
    result = run_script(bundle, fingerprint)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED: the bundle is untouched" in result.stdout and "[FAIL]" not in result.stdout
    assert verify_bundle(bundle, fingerprint).trusted and not verify_bundle(bundle).trusted


def test_without_a_fingerprint_the_script_says_signature_valid_signer_not_checked_and_exits_non_zero(bundle):
    result = run_script(bundle)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "[FAIL]" not in result.stdout
    verdict = result.stdout.strip().splitlines()[-1]
    assert verdict.startswith("NOT VERIFIED: signature valid, signer not checked"), verdict


def test_a_faithful_rewrite_still_verifies(bundle, tmp_path):
    """The tampering helper itself changes nothing, so each refusal below is caused by its one change."""
    copy = rewrite(bundle, tmp_path / "same.zip")
    assert copy.read_bytes() == bundle.read_bytes()
    assert verify_bundle(copy).ok and run_script(copy, fingerprint_of(bundle)).returncode == 0


def member_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


MEMBERS = ["report.pdf", "report.csv", "report.json", "oscal-assessment-results.json",
           *sorted(sample_evidence_files(make_dataset(3))), "public-key.pem", "manifest.json", "manifest.sig"]


@pytest.mark.parametrize("name", MEMBERS)
def test_one_byte_changed_in_any_member_is_refused(bundle, tmp_path, name):
    assert name in member_names(bundle)
    copy = rewrite(bundle, tmp_path / "flipped.zip", change={name: flip})
    expect = {"manifest.json": "signature|cannot read", "manifest.sig": "signature|cannot read",
              "public-key.pem": "public-key.pem"}.get(name, re.escape(name) + ": SHA-256")
    assert_refused(copy, expect=expect)


def test_added_removed_duplicated_and_unsafe_members_are_refused(bundle, tmp_path):
    assert_refused(rewrite(bundle, tmp_path / "added.zip", add={"evidence/extra.pdf": b"%PDF"}), expect="not listed")
    assert_refused(rewrite(bundle, tmp_path / "removed.zip", drop={"report.csv"}), expect="missing: report.csv")
    assert_refused(rewrite(bundle, tmp_path / "dup.zip", add={"report.csv": b"x"}), expect="duplicate")
    assert_refused(rewrite(bundle, tmp_path / "slip.zip", add={"../evil.sh": b"rm -rf"}), expect="unsafe")
    assert_refused(rewrite(bundle, tmp_path / "nosig.zip", drop={"manifest.sig"}), expect="missing manifest.sig")
    assert_refused(rewrite(bundle, tmp_path / "noman.zip", drop={"manifest.json"}), expect="missing manifest.json")
    other = public_key_pem(new_key_pem()).encode()
    assert_refused(rewrite(bundle, tmp_path / "key.zip", change={"public-key.pem": lambda _d: other}),
                   expect="public-key.pem")


def forge(bundle: Path, tmp_path: Path) -> Path:
    """A copy of `bundle` with a changed report, re-signed with a forger's key: self-consistent throughout."""
    forger = new_key_pem()
    forged_report = b"project_id,project\r\n1,all good\r\n"
    with zipfile.ZipFile(bundle) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    raw = load_private_key(forger).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    manifest["public_key"] = base64.b64encode(raw).decode()
    manifest["public_key_fingerprint"] = public_key_fingerprint(forger)
    for entry in manifest["files"]:
        if entry["path"] == "report.csv":
            entry.update(sha256=hashlib.sha256(forged_report).hexdigest(), size=len(forged_report))
        if entry["path"] == "public-key.pem":
            pem = public_key_pem(forger).encode()
            entry.update(sha256=hashlib.sha256(pem).hexdigest(), size=len(pem))
    body = manifest_bytes(manifest)
    sig = base64.b64encode(load_private_key(forger).sign(body)) + b"\n"
    return rewrite(bundle, tmp_path / "forged.zip", change={
        "report.csv": lambda _d: forged_report, "public-key.pem": lambda _d: public_key_pem(forger).encode(),
        "manifest.json": lambda _d: body, "manifest.sig": lambda _d: sig})


def test_a_bundle_re_signed_with_another_key_fails_against_the_trusted_fingerprint(bundle, tmp_path, key_pem):
    forged = forge(bundle, tmp_path)
    assert verify_bundle(forged).ok  # self-consistent: only the trusted fingerprint tells it apart
    assert not verify_bundle(forged).trusted
    assert_refused(forged, public_key_fingerprint(key_pem), expect="not by the trusted key")


def test_a_re_signed_forgery_is_not_reported_verified_by_the_script_without_a_fingerprint(bundle, tmp_path):
    result = run_script(forge(bundle, tmp_path))
    assert result.returncode == 3, result.stdout  # non-zero, and distinct from a failed check (1)
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith("NOT VERIFIED: signature valid, signer not checked"), lines[-1]
    assert not any(line.startswith("VERIFIED") for line in lines), result.stdout


def test_truncated_corrupt_and_padded_files_are_refused(bundle, tmp_path):
    data = bundle.read_bytes()
    cases = {"truncated.zip": data[: len(data) // 2], "cut-end.zip": data[:-1], "empty.zip": b"",
             "garbage.zip": os.urandom(4096), "appended.zip": data + b"\0", "prefixed.zip": b"MZ" + data}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        assert_refused(tmp_path / name)
    with zipfile.ZipFile(shutil.copy(bundle, tmp_path / "comment.zip"), "a") as zf:
        zf.comment = b"harmless?"
    assert_refused(tmp_path / "comment.zip", expect="end-of-central-directory")
    assert not verify_bundle(tmp_path / "does-not-exist.zip").ok


class _Pipe(io.RawIOBase):
    """A non-seekable output (an HTTP response, a pipe): zipfile then writes data descriptors."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.data += b
        return len(b)


def _regions(path: Path, sample_data: bool = True) -> list[int]:
    """Offsets of every byte outside the members' compressed data, plus a sample inside it."""
    data = path.read_bytes()
    outside, inside = [], []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            start = info.header_offset
            header = 30 + len(info.filename.encode("utf-8"))
            end = start + header + info.compress_size
            outside += range(start, start + header)
            if info.flag_bits & 0x8:
                outside += range(end, end + 16)  # the data descriptor
            if sample_data:
                inside += range(start + header, end, 257)
            inside.append(end - 1)  # the last byte of each deflate stream
        cd_start = zf.start_dir
    outside += range(cd_start, len(data))
    return outside + inside


def test_a_bundle_streamed_to_a_non_seekable_output_verifies(tmp_path, key_pem):
    dataset = make_dataset(2)
    pipe = _Pipe()
    build_bundle(dataset, sample_evidence_files(dataset), pipe, key_pem)
    path = tmp_path / "piped.zip"
    path.write_bytes(pipe.data)
    assert all(info.flag_bits & 0x8 for info in zipfile.ZipFile(path).infolist())
    assert verify_bundle(path, public_key_fingerprint(key_pem)).ok
    assert run_script(path, public_key_fingerprint(key_pem)).returncode == 0


@pytest.mark.parametrize("seekable", [True, False])
def test_every_single_byte_change_is_refused(tmp_path, key_pem, seekable):
    """Flip each header/directory byte and a sample of data bytes of a small bundle: all must fail."""
    path = tmp_path / "small.zip"
    if seekable:
        build(path, key_pem, projects=1)
    else:
        dataset, pipe = make_dataset(1), _Pipe()
        build_bundle(dataset, sample_evidence_files(dataset), pipe, key_pem)
        path.write_bytes(pipe.data)
    spec = importlib.util.spec_from_file_location("standalone_verify_bundle", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    data = path.read_bytes()
    original = _contents(data)
    passed = []
    for at in _regions(path, sample_data=seekable):  # the data is the same either way: sample it once
        copy = io.BytesIO(flip(data, at))
        if verify_bundle(copy).ok:
            passed.append(("reports.bundle", at))
        copy.seek(0)
        if not script.layout_problems(copy):
            target = tmp_path / "one.zip"
            target.write_bytes(copy.getvalue())
            with contextlib.redirect_stdout(io.StringIO()):
                verdict = script.verify(str(target), None, quiet=True)
            if verdict == 0:
                passed.append(("script", at))
    # Deflate can spell the same bytes two ways (a back-reference to an equal string at another
    # distance): such a flip changes no file anyone reads, and is the only kind that may pass.
    passed = [(who, at) for who, at in passed if _contents(flip(data, at)) != original]
    assert not passed, passed


def _contents(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def test_script_needs_only_stdlib_and_cryptography():
    source = SCRIPT.read_text()
    imports = set(re.findall(r"^\s*(?:from|import) ([\w.]+)", source, re.M))
    allowed = {"__future__", "argparse", "base64", "collections", "hashlib", "json", "re", "struct", "sys", "zipfile", "zlib",
               "cryptography.exceptions", "cryptography.hazmat.primitives",
               "cryptography.hazmat.primitives.asymmetric.ed25519"}
    assert imports <= allowed, imports - allowed
    result = subprocess.run([sys.executable, "-I", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 2  # usage error


# --- the offline route: unzip, base64, openssl, sha256sum, sed, diff ---------------------------------

def docstring_commands() -> str:
    doc = SCRIPT.read_text().split('"""')[1]
    block = doc.split("sed and diff")[1].split("That route")[0]
    lines = [line.strip() for line in block.splitlines()[2:] if line.strip() and not line.strip().startswith("#")]
    return "\n".join(lines).replace("\\\n", " ")


def run_shell(commands: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", commands], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def shell_tools():
    missing = [t for t in ("openssl", "unzip", "sha256sum", "base64", "sed", "diff", "bash") if not shutil.which(t)]
    if missing:
        if IN_CI:
            pytest.fail(f"required in CI: {missing}")
        pytest.skip(f"missing tools: {missing}")


def test_the_documented_openssl_route_verifies_an_untouched_bundle(bundle, tmp_path, key_pem, shell_tools):
    shutil.copy(bundle, tmp_path / "BUNDLE.zip")
    commands = docstring_commands()
    assert "openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json" in commands
    result = run_shell(commands, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Signature Verified Successfully" in out
    assert public_key_fingerprint(key_pem).removeprefix("SHA256:") + "  -" in out
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["public_key"] in out
    assert "all listed files match" in out and "no unlisted or missing files" in out
    sums = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == len(manifest["files"])  # the sed line found every entry


@pytest.mark.parametrize("tamper", ["manifest", "file", "extra"])
def test_the_documented_openssl_route_fails_on_tampering(bundle, tmp_path, tamper, shell_tools):
    shutil.copy(bundle, tmp_path / "BUNDLE.zip")
    commands = docstring_commands().split("\n")
    unzip_step, rest = commands[0], "\n".join(commands[1:])
    assert run_shell(unzip_step, tmp_path).returncode == 0
    folder = tmp_path / "bundle"
    if tamper == "manifest":
        text = (folder / "manifest.json").read_text().replace('"as_of": "2026-11-29"', '"as_of": "2026-11-28"')
        (folder / "manifest.json").write_text(text)
    elif tamper == "file":
        (folder / "report.csv").write_bytes(flip((folder / "report.csv").read_bytes()))
    else:
        (folder / "evidence" / "planted.pdf").write_bytes(b"%PDF")
    result = run_shell("cd bundle\n" + rest, tmp_path)
    markers = ("Signature Verified Successfully", "all listed files match", "no unlisted or missing files")
    assert result.returncode != 0 or not all(m in result.stdout for m in markers), result.stdout
