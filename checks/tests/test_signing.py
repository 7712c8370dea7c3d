"""Signed models (done-when item 3): models signed here with ``model-signing``, verified offline.

Keys and certificates are generated per test; nothing touches a network or a transparency log.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from checks.runners import run_check
from checks.runners.signing import Signer, SigningPolicy, key_fingerprint, verify_model

from .conftest import make_ca, make_ctx


def pem_private(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def pem_public(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def make_model(folder: Path) -> Path:
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.safetensors").write_bytes(b"\x08" + b"\0" * 7 + b"{}")
    (folder / "config.json").write_text('{"arch": "tiny"}')
    (folder / "sub" / "tokenizer.json").write_text("{}")
    return folder


def sign_with_key(folder: Path, key, scratch: Path) -> None:
    from model_signing import signing

    (scratch / "signing.key").write_bytes(pem_private(key))
    signing.Config().use_elliptic_key_signer(private_key=scratch / "signing.key").sign(folder, folder / "model.sig")


@pytest.fixture
def signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    model = make_model(tmp_path / "models" / "fraud" / "v3")
    sign_with_key(model, key, tmp_path)
    return model, SigningPolicy(required=True, signers=(Signer("release-key", "key", pem_public(key)),)), key


def test_a_model_signed_with_model_signing_verifies_and_names_its_signer(signed):
    model, policy, key = signed
    result = verify_model(str(model), policy)
    assert result.status == "valid", result
    assert result.signer == f"release-key ({key_fingerprint(pem_public(key))})"


@pytest.mark.parametrize("change, listed", [
    (lambda m: (m / "config.json").write_text('{"arch": "evil"}'), ("changed", "config.json")),
    (lambda m: (m / "extra.pkl").write_bytes(b"\x80\x04N."), ("added", "extra.pkl")),
    (lambda m: (m / "sub" / "tokenizer.json").unlink(), ("removed", "sub/tokenizer.json")),
])
def test_changing_adding_or_removing_one_file_fails_naming_it(signed, change, listed):
    model, policy, _ = signed
    change(model)
    result = verify_model(str(model), policy)
    assert result.status == "invalid"
    assert getattr(result, listed[0]) == [listed[1]]


def test_a_renamed_file_is_both_removed_and_added(signed):
    model, policy, _ = signed
    (model / "config.json").rename(model / "config.old.json")
    result = verify_model(str(model), policy)
    assert (result.status, result.removed, result.added) == ("invalid", ["config.json"], ["config.old.json"])


def test_a_signature_by_a_key_that_is_not_allowed_fails(signed):
    model, _, _ = signed
    stranger = ec.generate_private_key(ec.SECP256R1())
    policy = SigningPolicy(required=True, signers=(Signer("other", "key", pem_public(stranger)),))
    result = verify_model(str(model), policy)
    assert result.status == "invalid" and "no allowed signer" in result.reason


def test_a_tampered_or_garbage_signature_is_invalid(signed):
    model, policy, _ = signed
    bundle = json.loads((model / "model.sig").read_text())
    payload = base64.b64decode(bundle["dsseEnvelope"]["payload"]).replace(b"config.json", b"config.jsoN")
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()
    (model / "model.sig").write_text(json.dumps(bundle))
    result = verify_model(str(model), policy)
    assert result.status == "invalid" and "no allowed signer" in result.reason
    (model / "model.sig").write_text("not json")
    assert verify_model(str(model), policy).status == "invalid"


def test_a_certificate_signature_verifies_against_the_chain_and_records_the_identity(tmp_path):
    from model_signing import signing

    authority = make_ca("Model Signing CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ml-release")]))
            .issuer_name(authority.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("release@example.org")]), critical=False)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(authority.key, hashes.SHA256()))
    (tmp_path / "leaf.key").write_bytes(pem_private(key))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ca.pem").write_bytes(authority.pem())
    model = make_model(tmp_path / "model")
    signing.Config().use_certificate_signer(private_key=tmp_path / "leaf.key", signing_certificate=tmp_path / "leaf.pem",
                                            certificate_chain=[tmp_path / "ca.pem"]).sign(model, model / "model.sig")
    chain = authority.pem().decode()
    result = verify_model(str(model), SigningPolicy(True, (Signer("release CA", "certificate", chain,
                                                                  ("release@example.org",)),)))
    assert (result.status, result.signer) == ("valid", "release CA (release@example.org)")
    wrong_identity = SigningPolicy(True, (Signer("release CA", "certificate", chain, ("someone@example.org",)),))
    assert verify_model(str(model), wrong_identity).status == "invalid"
    other_ca = SigningPolicy(True, (Signer("other CA", "certificate", make_ca("Other CA").pem().decode()),))
    assert verify_model(str(model), other_ca).status == "invalid"


def integrity(root: Path, policy, baseline=None):
    return run_check("model-integrity", make_ctx(root, source_path=str(root), model_artifacts=["models"],
                                                 signing=policy, baseline=baseline))


def test_model_integrity_passes_a_validly_signed_model_and_records_the_signer(signed, tmp_path):
    result = integrity(tmp_path, signed[1])
    assert result.status == "passed", result.findings
    assert result.data["baseline_recorded"] is True
    assert result.data["signatures"]["models/fraud/v3"]["status"] == "valid"


def test_model_integrity_fails_a_changed_signed_model_naming_the_file_and_records_no_baseline(signed, tmp_path):
    model, policy, _ = signed
    (model / "config.json").write_text("{}")
    result = integrity(tmp_path, policy)
    assert result.status == "failed" and "baseline_recorded" not in result.data
    assert any(f.title == "file changed since signing: models/fraud/v3/config.json" for f in result.findings)


def test_signature_required_fails_an_unsigned_model(tmp_path):
    make_model(tmp_path / "models" / "plain")
    key = ec.generate_private_key(ec.SECP256R1())
    required = SigningPolicy(required=True, signers=(Signer("release-key", "key", pem_public(key)),))
    result = integrity(tmp_path, required)
    assert result.status == "failed"
    assert any(f.title == "model not signed: models/plain" and f.severity == "high" for f in result.findings)
    optional = SigningPolicy(required=False, signers=required.signers)
    assert integrity(tmp_path, optional).status == "passed"
