"""Real files for the demo's checks to read, under `<check root>/<team-slug>/<project-slug>/`.

Each team's projects live in the team's own directory under the first check root (the local
settings use `check-targets/`, git-ignored), the only place that team's checks may read.

Two profiles: a careful team's project (pinned safe dependencies, safetensors weights, masked data)
and a careless one's (a committed credential, a shell-injection sink, a vulnerable pin, a pickled
model whose `__reduce__` calls os.system, raw e-mails and card numbers). The pickle is written with
`pickle.dumps` and never loaded; the credential is the AWS documentation example, not a real key.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
from pathlib import Path

from django.conf import settings

CLEAN_SOURCE = '''"""Training entry point."""
import json
from pathlib import Path


def load_config(path: Path) -> dict:
    return json.loads(path.read_text())


def train(config: dict) -> None:
    print("training with", sorted(config))
'''
# AWS's published documentation example credentials, assembled here so this repository itself holds
# no credential-shaped literal; the demo writes them into a careless project's source tree.
_EXAMPLE_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"  # pragma: allowlist secret
CARELESS_SOURCE = f'''"""Quick experiment script (to be cleaned up)."""
import subprocess

AWS_ACCESS_KEY_ID = "{_EXAMPLE_KEY_ID}"
AWS_SECRET_ACCESS_KEY = "{_EXAMPLE_SECRET}"


def export(bucket):
    subprocess.call("aws s3 sync ./out " + bucket, shell=True)
'''
CLEAN_REQUIREMENTS = """# training image, hashes pinned in the lock file
numpy==2.1.3
pyyaml==6.0.2  # safe loader only
scikit-learn==1.5.2
"""
CARELESS_REQUIREMENTS = """numpy==1.26.4
pyyaml==5.3.1
requests[socks]==2.28.0 ; python_version >= "3.8"
transformers==4.30.2
pandas>=2.0
"""


class _Payload:
    """Serialises to a pickle that would run a shell command if anyone loaded it (nobody does)."""

    def __reduce__(self):
        return (os.system, ("echo this model was tampered with",))


def _safetensors(seed: int) -> bytes:
    header = json.dumps({"weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                         "__metadata__": {"format": "pt", "demo": str(seed)}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack("<4f", seed, 0.5, -0.25, 1.0)


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def demo_root() -> Path | None:
    """The check root the demo writes to: the first one the checks may use (None: no targets)."""
    from checks.confinement import configured_roots

    roots = configured_roots()
    return Path(roots[0]) if roots else None


def write_targets(team_slug: str, project_slug: str, careless: bool, endpoint_url: str = "") -> dict:
    """Write one project's files in its team's directory and return its `check_targets`."""
    base = demo_root()
    if base is None:
        return {"endpoint_url": endpoint_url} if endpoint_url else {}
    root = base / team_slug / project_slug
    _write(root / "src" / "train.py", CARELESS_SOURCE if careless else CLEAN_SOURCE)
    _write(root / "requirements.txt", CARELESS_REQUIREMENTS if careless else CLEAN_REQUIREMENTS)
    _write(root / "models" / "model.safetensors", _safetensors(len(project_slug)))
    if careless:
        _write(root / "models" / "legacy.pkl", pickle.dumps(_Payload(), protocol=4))
        _write(root / "data" / "customers.csv", "id,email,card\n1,ana.ribeiro@example.com,4111 1111 1111 1111\n"
                                                  "2,ben.okafor@example.com,5500-0000-0000-0004\n")
    else:
        _write(root / "data" / "customers.csv", "id,email,card\n1,a***@example.com,**** **** **** 1111\n"
                                                  "2,b***@example.com,XXXX-XXXX-XXXX-0004\n")
    targets = {
        "source_path": str(root / "src"),
        "dependency_files": [str(root / "requirements.txt")],
        "model_artifacts": [str(root / "models" / "*")],
        "datasets": [str(root / "data" / "*.csv")],
    }
    if endpoint_url:
        targets["endpoint_url"] = endpoint_url
    return targets


def export_portal_source(target: Path) -> Path:
    """The portal's own committed files in `target`, as a team would check out its repository.

    A working tree also holds `var/` (the demo's generated keys) and virtual environments, which are
    not the code under review. `git archive` gives exactly what is committed; without git (an
    unpacked release), the tree is copied without those folders.
    """
    import shutil
    import subprocess
    import tarfile

    base = Path(settings.BASE_DIR)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    try:
        archive = subprocess.run(["git", "-C", str(base), "archive", "--format=tar", "HEAD"],  # noqa: S603, S607
                                 capture_output=True, check=True, timeout=60).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    except (OSError, subprocess.SubprocessError, tarfile.TarError):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(base, target, ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "node_modules", "__pycache__", "staticfiles", "secrets", "check-targets"))
    return target
