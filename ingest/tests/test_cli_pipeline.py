"""The pipeline a team's CI runs, as a shell script using only `mlsec` and an ingest token, against a live
portal: exit 1 with a malicious model in the tree, exit 0 once it is replaced by safetensors."""

from __future__ import annotations

import os
import pickle
import shutil
import sys
from pathlib import Path

import pytest

from conftest import require

from .conftest import Exploit, run_tool

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def mlsec_command(tmp_path: Path) -> Path:
    """`mlsec` as `pip install ./cli` installs it: the console script calling `mlsec_cli.main:main`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "mlsec"
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom mlsec_cli.main import main\nsys.exit(main())\n")
    script.chmod(0o755)
    return bin_dir


def safetensors_bytes() -> bytes:
    import numpy as np
    from safetensors.numpy import save

    return save({"weight": np.zeros((2, 2), dtype=np.float32)})


@pytest.fixture
def ingest_token(org):
    import datetime as dt

    from django.utils import timezone

    from ingest.tokens import ingest_token_create

    return ingest_token_create(actor=org.lead, project=org.project, name="github",
                               expires_on=timezone.now().date() + dt.timedelta(days=7))[1]


@pytest.fixture
def pipeline(live_server, org, tmp_path):
    require(shutil.which("git") is not None and shutil.which("sh") is not None, "git and sh are needed")
    env = {"PATH": f"{mlsec_command(tmp_path)}:{os.environ['PATH']}", "HOME": str(tmp_path),
           "PYTHONPATH": f"{ROOT / 'cli'}:{ROOT}", "MLSEC_URL": live_server.url,
           "MLSEC_PROJECT": str(org.project.pk)}

    def run(tree: Path, expect: int, token: str):
        env["MLSEC_TOKEN"] = token
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        done = run_tool("sh", str(HERE / "pipeline.sh"), str(tree), str(out), ok=(0, 1, 2), env=env)
        assert done.returncode == expect, done.stdout + done.stderr
        return done.stdout

    return run


@pytest.mark.django_db(transaction=True)
def test_the_pipeline_fails_on_a_malicious_model_and_passes_once_it_is_safetensors(pipeline, make_git_repo, org,
                                                                                     ingest_token):
    from ingest.models import ResultUpload

    serve = "import json\n\n\ndef predict(features):\n    return json.dumps({'score': sum(features)})\n"
    repo = make_git_repo("model-repo", {"serve.py": serve, "model.pkl": pickle.dumps(Exploit())})
    output = pipeline(repo.work_path, expect=1, token=ingest_token)
    assert "gate fail" in output and "critical" in output
    bad = ResultUpload.objects.get(commit=repo.head)
    assert bad.origin == "pipeline" and bad.status == "done" and bad.token.name == "github"

    repo.commit({"model.pkl": None, "model.safetensors": safetensors_bytes()}, message="Ship safetensors")
    output = pipeline(repo.work_path, expect=0, token=ingest_token)
    assert "gate pass" in output
    fixed = ResultUpload.objects.get(commit=repo.head)
    assert fixed.findings_closed >= 1  # the pickle's finding is closed by the new scan of the same branch


@pytest.mark.django_db(transaction=True)
def test_the_same_pipeline_runs_with_a_ci_identity_token_from_the_test_issuer(pipeline, make_git_repo, org, issuer,
                                                                             tmp_path):
    from ingest.models import CIIdentityRule, CIIssuer, ResultUpload

    from .conftest import AUDIENCE

    registered = CIIssuer.objects.create(issuer=issuer.url, jwks_url=f"{issuer.url}/jwks", audience=AUDIENCE)
    CIIdentityRule.objects.create(issuer=registered, project=org.project, repository="fraud/scorer")
    serve = "import json\n\n\ndef predict(features):\n    return json.dumps({'score': sum(features)})\n"
    repo = make_git_repo("oidc-repo", {"serve.py": serve, "model.pkl": pickle.dumps(Exploit())})
    assert "gate fail" in pipeline(repo.work_path, expect=1, token=issuer())
    assert ResultUpload.objects.get(commit=repo.head).ci_identity == "fraud/scorer@refs/heads/main"
    # The token is accepted once: mlsec exchanged it for a key kept (owner-only) for the job's later commands.
    kept = list((tmp_path / ".cache" / "mlsec").glob("mlsec-key-*.json"))
    assert len(kept) == 1 and kept[0].stat().st_mode & 0o777 == 0o600
    repo.commit({"model.pkl": None, "model.safetensors": safetensors_bytes()}, message="Ship safetensors")
    assert "gate pass" in pipeline(repo.work_path, expect=0, token=issuer())


@pytest.mark.django_db(transaction=True)
def test_pushing_a_report_that_scanned_nothing_exits_2_and_the_gate_fails(live_server, org, ingest_token,
                                                                          tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": f"{ROOT / 'cli'}:{ROOT}",
           "MLSEC_URL": live_server.url, "MLSEC_PROJECT": str(org.project.pk), "MLSEC_TOKEN": ingest_token}
    empty = tmp_path / "empty.sarif"
    empty.write_text('{"version": "2.1.0", "runs": []}')
    commit = "abcdef1234567"  # pragma: allowlist secret
    pushed = run_tool(sys.executable, "-m", "mlsec_cli", "upload", str(empty), "--format", "sarif", "--commit", commit,
                      ok=(0, 1, 2), env=env)
    assert pushed.returncode == 2 and "empty" in pushed.stdout, pushed.stdout + pushed.stderr
    gated = run_tool(sys.executable, "-m", "mlsec_cli", "gate", "--commit", commit, ok=(0, 1, 2), env=env)
    assert gated.returncode == 1 and "scanned nothing" in gated.stdout
