"""Every app's tests run in `make test`: an app left out of `testpaths` would be silently skipped."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_folder_with_tests_is_in_the_pytest_testpaths():
    configured = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"])
    with_tests = {path.parent.name for path in ROOT.glob("*/tests") if path.is_dir() and any(path.glob("test_*.py"))}
    with_tests |= {"tests"}
    assert with_tests - configured == set(), "add these to [tool.pytest.ini_options] testpaths"
