"""OpenSSF model signatures, verified offline with the ``model-signing`` package.

A signed model is a folder holding ``model.sig``: a Sigstore bundle whose DSSE payload lists every
file of the folder with its digest (model-signing's manifest).  :func:`verify_model` checks it
against the project's allowed signers — each a PEM public key (model-signing's elliptic-key
verifier) or a PEM certificate chain (its certificate verifier, optionally restricted to leaf
identities) — entirely offline: no transparency log, no network.

The decision is model-signing's own (its verifier checks the signature and returns the signed
manifest; its hashing config hashes the folder the way the signer did).  The comparison of the two
manifests is done here so the result names each changed, added and removed file instead of one
message; it uses the verifier object model-signing builds (``Config._verifier``), pinned to
``model-signing==1.1.1`` and covered by the tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SIGNATURE_NAME = "model.sig"
MAX_SIGNATURE = 16 * 1024 * 1024


@dataclass(frozen=True)
class Signer:
    name: str
    kind: str  # "key" | "certificate"
    material: str  # PEM: a public key, or a certificate chain (roots of trust)
    identities: tuple[str, ...] = ()  # certificate signers: allowed leaf identities (SAN e-mail/URI/DNS or CN)


@dataclass(frozen=True)
class SigningPolicy:
    required: bool = False
    signers: tuple[Signer, ...] = ()


@dataclass
class SignatureResult:
    status: str  # "valid" | "invalid" | "unsigned" | "error"
    reason: str = ""
    signer: str = ""  # the allowed signer's name and what identifies it (key fingerprint, certificate identity)
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {"status": self.status, "reason": self.reason, "signer": self.signer}
        for key in ("changed", "added", "removed"):
            if getattr(self, key):
                out[key] = getattr(self, key)[:200]
        return out


def key_fingerprint(pem: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(pem.encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + hashlib.sha256(der).hexdigest()[:32]


def verify_model(folder: str, policy: SigningPolicy) -> SignatureResult:
    """Verify ``folder/model.sig`` against every allowed signer; the first that verifies decides."""
    signature_path = os.path.join(folder, SIGNATURE_NAME)
    if not os.path.isfile(signature_path):
        return SignatureResult("unsigned", f"no {SIGNATURE_NAME} in the model folder")
    if os.path.getsize(signature_path) > MAX_SIGNATURE:
        return SignatureResult("invalid", f"{SIGNATURE_NAME} is implausibly large")
    if not policy.signers:
        return SignatureResult("error", "the project's signing policy names no allowed signer to verify with")
    try:
        import model_signing  # noqa: F401 - fail here, not halfway
        from model_signing._signing import sign_sigstore_pb
    except ImportError as exc:
        return SignatureResult("error", f"model-signing is not available ({type(exc).__name__})")
    try:
        signature = sign_sigstore_pb.Signature.read(Path(signature_path))
    except Exception as exc:  # noqa: BLE001 - a malformed bundle is invalid, whatever the parser raises
        return SignatureResult("invalid", f"{SIGNATURE_NAME} is not a Sigstore bundle ({type(exc).__name__})")
    leaf = _leaf_identity(signature_path)
    reasons = []
    with tempfile.TemporaryDirectory(prefix="mlsec-signers-") as scratch:
        for index, signer in enumerate(policy.signers):
            try:
                config = _verifier_config(signer, Path(scratch) / f"signer-{index}.pem")
                expected = config._verifier.verify(signature)  # noqa: SLF001 - checks the signature, returns the manifest
            except Exception as exc:  # noqa: BLE001 - any failure means "not this signer"
                reasons.append(f"{signer.name}: {type(exc).__name__}")
                continue
            if signer.kind == "certificate" and signer.identities and leaf["identity"] not in signer.identities:
                reasons.append(f"{signer.name}: certificate identity not allowed")
                continue
            who = signer.name + (f" ({key_fingerprint(signer.material)})" if signer.kind == "key"
                                 else f" ({leaf['identity']})")
            return _compare(folder, expected, who)
    return SignatureResult("invalid", "no allowed signer verifies this signature: " + "; ".join(reasons)[:400])


def _verifier_config(signer: Signer, path: Path):
    from model_signing import verifying

    path.write_text(signer.material)
    if signer.kind == "key":
        return verifying.Config().use_elliptic_key_verifier(public_key=path)
    if signer.kind == "certificate":
        return verifying.Config().use_certificate_verifier(certificate_chain=[path])
    raise ValueError(f"unknown signer kind {signer.kind!r}")


def _hashing_for(manifest, folder: str):
    from model_signing import hashing

    args = manifest.serialization_type
    ignore = [Path(SIGNATURE_NAME)] + [Path(p) for p in args.get("ignore_paths", ())]  # relative to the folder
    if args["method"] == "files":
        config = hashing.Config().use_file_serialization(hashing_algorithm=args["hash_type"],
                                                         allow_symlinks=args["allow_symlinks"])
        return config.set_ignored_paths(paths=ignore)  # as model-signing's verifier: git metadata is not signed
    if args["method"] == "shards":
        config = hashing.Config().use_shard_serialization(hashing_algorithm=args["hash_type"],
                                                          shard_size=args["shard_size"],
                                                          allow_symlinks=args["allow_symlinks"])
        return config.set_ignored_paths(paths=ignore)
    raise ValueError("unknown serialization method")


def _compare(folder: str, expected, signer: str) -> SignatureResult:
    try:
        actual = _hashing_for(expected, folder).hash(Path(folder))
    except Exception as exc:  # noqa: BLE001 - e.g. a symbolic link the signer did not allow
        return SignatureResult("invalid", f"the model folder cannot be hashed as signed ({type(exc).__name__})",
                               signer=signer)
    shards = expected.serialization_type.get("method") == "shards"
    want, have = _by_file(expected, shards), _by_file(actual, shards)
    result = SignatureResult("valid", signer=signer)
    result.added = sorted(set(have) - set(want))
    result.removed = sorted(set(want) - set(have))
    result.changed = sorted(name for name in set(want) & set(have) if want[name] != have[name])
    if result.added or result.removed or result.changed:
        result.status = "invalid"
        result.reason = "the model's files differ from what was signed"
    return result


def _by_file(manifest, shards: bool) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for descriptor in manifest.resource_descriptors():
        name = str(descriptor.identifier)
        if shards:
            name = name.rsplit(":", 2)[0]
        out.setdefault(name, []).append(descriptor.digest.digest_hex)
    return {name: sorted(digests) for name, digests in out.items()}


def _leaf_identity(signature_path: str) -> dict[str, str]:
    """The signing certificate's identity (first SAN, else CN) when the bundle carries a certificate."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        bundle = json.loads(Path(signature_path).read_text())
        raw = bundle["verificationMaterial"]["x509CertificateChain"]["certificates"][0]["rawBytes"]
        cert = x509.load_der_x509_certificate(base64.b64decode(raw))
    except (KeyError, IndexError, TypeError, ValueError, UnicodeDecodeError):
        return {"identity": ""}
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for kind in (x509.RFC822Name, x509.UniformResourceIdentifier, x509.DNSName):
            values = names.get_values_for_type(kind)
            if values:
                return {"identity": str(values[0])}
    except x509.ExtensionNotFound:
        pass
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return {"identity": str(common[0].value) if common else ""}


# --- model-integrity's use ----------------------------------------------------------------------

@dataclass
class SignatureCheck:
    findings: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    failed: bool = False
    undecided: bool = False


def check_signatures(policy: SigningPolicy, files, path_policy) -> SignatureCheck:
    """Group the artifacts by the model folder that signs them (the nearest folder holding ``model.sig``,
    else the file's own folder) and verify each folder once."""
    from .base import Finding

    out = SignatureCheck()
    folders: dict[str, str] = {}  # real folder -> display
    for item in files:
        real = _signed_folder(os.path.dirname(item.real), path_policy) or os.path.dirname(item.real)
        display = os.path.dirname(item.display) if os.path.dirname(item.real) == real else path_policy.display(real)
        folders.setdefault(real, display if display not in ("", ".") else os.path.basename(real))
    for real, display in sorted(folders.items(), key=lambda kv: kv[1]):
        result = verify_model(real, policy)
        out.data[display] = result.as_dict()
        prefix = display + "/"
        if result.status == "valid":
            out.findings.append(Finding("info", f"model signed: {display}", f"valid signature by {result.signer}",
                                        display))
        elif result.status == "unsigned":
            if policy.required:
                out.failed = True
                out.findings.append(Finding("high", f"model not signed: {display}",
                                            "the project requires a valid signature from an allowed signer", display))
            else:
                out.findings.append(Finding("info", f"model not signed: {display}", result.reason, display))
        elif result.status == "error":
            out.undecided = True
            out.findings.append(Finding("medium", f"signature not verifiable: {display}", result.reason, display))
        else:
            out.failed = True
            if not (result.changed or result.added or result.removed):
                out.findings.append(Finding("high", f"invalid signature: {display}", result.reason, display))
            for key, label, severity in (("changed", "changed since signing", "high"),
                                         ("added", "added since signing", "high"),
                                         ("removed", "removed since signing", "high")):
                for name in getattr(result, key):
                    out.findings.append(Finding(severity, f"file {label}: {prefix}{name}",
                                                f"the signature by {result.signer} does not cover the model as it "
                                                "is now", f"{prefix}{name}"))
    return out


def _signed_folder(start: str, path_policy) -> str | None:
    current = start
    while path_policy.is_allowed(current):
        if os.path.isfile(os.path.join(current, SIGNATURE_NAME)):
            return current
        parent = os.path.dirname(current)
        if parent == current or current == os.path.realpath(path_policy.base):
            return None
        current = parent
    return None
