"""Installed tools the test servers need (a Node package tree, a virtualenv), built once and reused.

Each is a directory `<cache root>/<name>-<hash of its inputs>`: a change to a lock file builds a new
one, and worktrees or CI runs with the same lock files share it. The cache root is
$MLSEC_TEST_SERVERS_CACHE, else ~/.cache/mlsec-portal/test-servers (outside the repository: nothing to
commit). Builds take a file lock, so parallel pytest-xdist workers build a directory once, and a
directory counts only once its build wrote `.complete` (an interrupted build is thrown away).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
MLFLOW_REQUIREMENTS = HERE / "requirements-mlflow.txt"
OIDC_SOURCES = (HERE / "oidc" / "package.json", HERE / "oidc" / "package-lock.json", HERE / "oidc" / "provider.mjs")


class ToolMissing(RuntimeError):
    """A program a test server needs is not installed (pytest: `require` skips locally, fails in CI)."""


def cache_root() -> Path:
    configured = os.environ.get("MLSEC_TEST_SERVERS_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "mlsec-portal" / "test-servers"


def inputs_hash(paths: Iterable[Path], *extra: str) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()[:16]


def prepared(name: str, inputs: Iterable[Path], build: Callable[[Path], None], *extra: str) -> Path:
    """The directory `build(directory)` fills, built now unless a complete one exists already."""
    inputs = list(inputs)
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{name}-{inputs_hash(inputs, *extra)}"
    marker = target / ".complete"
    if marker.exists():
        return target
    with open(root / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():  # another process built it while this one waited
            return target
        if target.exists():
            shutil.rmtree(target)
        target.mkdir()
        began = time.monotonic()
        try:
            build(target)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        marker.write_text(f"built in {time.monotonic() - began:.1f} s\n")
    return target


def _run(argv: list[str], *, cwd: Path, what: str, timeout: float) -> None:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({' '.join(argv)}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


def oidc_provider_dir() -> Path:
    """A directory with provider.mjs and its node_modules (`npm ci` from the vendored lock file)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise ToolMissing("node and npm are needed for the OpenID Provider (apt-get install nodejs npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()  # noqa: S603
    if tuple(int(part) for part in version.lstrip("v").split(".")[:1]) < (20,):
        raise ToolMissing(f"oidc-provider 9 needs Node.js 20 or later, this is {version}")

    def build(target: Path) -> None:
        for source in OIDC_SOURCES:
            shutil.copy2(source, target / source.name)
        _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
             cwd=target, what="npm ci for the OpenID Provider", timeout=300)

    return prepared("oidc-provider", OIDC_SOURCES, build)


def mlflow_python() -> Path:
    """The Python of a virtualenv with the pinned MLflow server (requirements-mlflow.txt)."""

    def build(target: Path) -> None:
        _run([sys.executable, "-m", "venv", str(target)], cwd=target, what="python -m venv", timeout=120)
        _run([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "-r", str(MLFLOW_REQUIREMENTS)], cwd=target, what="pip install of the MLflow server", timeout=900)

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return prepared("mlflow-server", [MLFLOW_REQUIREMENTS], build, version) / "bin" / "python"


def main(argv: list[str]) -> int:
    """`python -m tests.servers.cache [oidc] [mlflow]`: build ahead of the tests (.ci/run does)."""
    wanted = argv or ["oidc", "mlflow"]
    for what in wanted:
        began = time.monotonic()
        path = {"oidc": oidc_provider_dir, "mlflow": mlflow_python}[what]()
        print(f"{what}: {path} ({time.monotonic() - began:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
