"""The project's own files, for the tests that read the code (rules written once, no badge tables…):
tracked, or new and not ignored. Never what git ignores, such as the copies of this repository that the
demo seeds under check-targets/, or a virtualenv."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def project_files(pattern: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "--", pattern], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    if listed.returncode != 0:  # not a git checkout (an archive): every file below the root
        return sorted(p for p in ROOT.rglob(pattern) if ".venv" not in p.parts)
    return sorted(ROOT / line for line in listed.stdout.splitlines() if (ROOT / line).is_file())
