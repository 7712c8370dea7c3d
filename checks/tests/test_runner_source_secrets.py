"""source-secrets: findings name file, line and type, never the secret.

The secrets are assembled at run time from fragments so that this test file
itself does not trip secret scanners (including this very check run on the
portal's own repository).
"""

from __future__ import annotations

import json

from checks.runners import run_check

from .conftest import make_ctx

KEY = "source-secrets"
AWS_ID = "AKIA" + "Q3EGRXMPL" + "7TZ4WQN"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq83Nf1EXAMPLEKEY"  # pragma: allowlist secret
GITHUB = "ghp_" + "Zx9aB8cD7eF6gH5iJ4kL3mN2oP1qR0sT9uV8"  # pragma: allowlist secret
PRIVATE_KEY = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA7v1x\n-----END RSA " + "PRIVATE KEY-----\n"


def substrings(secret: str, size: int = 8) -> set[str]:
    return {secret[i:i + size] for i in range(len(secret) - size + 1)}


def test_secrets_fail_and_are_never_stored(tmp_path):
    src = tmp_path / "project"
    (src / "app").mkdir(parents=True)
    (src / "app" / "settings.py").write_text(
        f'import os\n\nAWS_ACCESS_KEY_ID = "{AWS_ID}"\naws_secret_access_key = "{AWS_SECRET}"\n'
        f'GITHUB_TOKEN = "{GITHUB}"\n')
    (src / "deploy").mkdir()
    (src / "deploy" / "id_rsa").write_text(PRIVATE_KEY)
    (src / ".git").mkdir()
    (src / ".git" / "config").write_text(f"token = {GITHUB}\n")  # VCS metadata is skipped
    (src / "image.bin").write_bytes(b"\0\1\2" + AWS_ID.encode())  # binaries are skipped
    result = run_check(KEY, make_ctx(tmp_path, source_path=str(src)))
    assert result.status == "failed", result.summary
    refs = {f.ref for f in result.findings}
    assert "app/settings.py:3" in refs and "app/settings.py:5" in refs and "deploy/id_rsa:1" in refs
    assert not any(r.startswith((".git", "image.bin")) for r in refs)
    types = {f.title for f in result.findings}
    assert "possible secret: AWS Access Key" in types and "possible secret: Private Key" in types
    assert "possible secret: GitHub Token" in types

    stored = json.dumps(result.as_dict())
    for secret in (AWS_ID, AWS_SECRET, GITHUB, "MIIEowIBAAKCAQEA7v1x"):
        assert secret not in stored
        leaked = [s for s in substrings(secret) if s in stored]
        assert not leaked, leaked
    assert "hashed_secret" not in stored


def test_clean_tree_passes(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "main.py").write_text('import os\n\nTOKEN = os.environ["API_TOKEN"]\nprint("hello")\n')
    (tmp_path / "README.md").write_text("# Project\nNo secrets here.\n")
    result = run_check(KEY, make_ctx(tmp_path, source_path=str(tmp_path)))
    assert result.status == "passed", result.findings
    assert result.data["files_scanned"] == 2


def test_missing_source_path_is_error(tmp_path):
    result = run_check(KEY, make_ctx(tmp_path, source_path=str(tmp_path / "nope")))
    assert result.status == "error"


def test_source_path_outside_roots_is_error(tmp_path):
    (tmp_path / "root").mkdir()
    result = run_check(KEY, make_ctx(tmp_path / "root", source_path="/etc"))
    assert result.status == "error" and "outside" in result.summary + result.findings[0].title


def test_symlinked_file_leaving_the_roots_is_not_read(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "creds.py").write_text(f'KEY = "{AWS_ID}"\n')
    (root / "ok.py").write_text("x = 1\n")
    (root / "creds.py").symlink_to(outside / "creds.py")
    result = run_check(KEY, make_ctx(root, source_path=str(root)))
    assert result.status == "error"
    assert any(f.title == "outside the allowed check roots" for f in result.findings)
    assert result.data["secrets"] == 0
