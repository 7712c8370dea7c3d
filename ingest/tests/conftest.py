"""Fixtures of the ingest tests: tokens, and reports made here by the real tools (never hand-written
where the tool installs: bandit, cyclonedx-py, modelscan, fickling, picklescan)."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from conftest import require

BIN = Path(sys.executable).parent


class Exploit:
    """A pickle that runs a shell command when loaded (never loaded here: only scanned)."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    require(found is not None, f"{name} is not installed")
    return found


def run_tool(*args, cwd=None, ok=(0, 1), env=None) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False, env=env)  # noqa: S603
    assert done.returncode in ok, done.stderr[-2000:]
    return done


@pytest.fixture
def ingest_key(org):
    from ingest.tokens import ingest_token_create

    def make(project=None, expires_on=None):
        _, key = ingest_token_create(actor=org.lead, project=project or org.project, name="ci",
                                     expires_on=expires_on or timezone.now().date() + dt.timedelta(days=30))
        return key

    return make


@pytest.fixture
def token_client():
    from rest_framework.test import APIClient

    def make(key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def pickles(tmp_path):
    """A malicious and a benign pickle, made here."""
    bad, good = tmp_path / "bad.pkl", tmp_path / "good.pkl"
    bad.write_bytes(pickle.dumps(Exploit()))
    good.write_bytes(pickle.dumps({"weights": [0.1, 0.2]}))
    return bad, good


def bandit_sarif(tmp_path: Path, source: str) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir(exist_ok=True)
    (tree / "app.py").write_text(source)
    out = tmp_path / "bandit.sarif"
    run_tool(tool("bandit"), "-q", "-r", "tree", "-f", "sarif", "-o", str(out), cwd=tmp_path)
    return out


VULNERABLE_APP = ('import subprocess\n\n\ndef run(cmd):\n    subprocess.call(cmd, shell=True)\n\n\n'
                  'def load(blob):\n    import pickle\n    return pickle.loads(blob)\n')
FIXED_APP = 'import shlex\n\n\ndef run(cmd):\n    return shlex.split(cmd)\n'


def upload(client, project, path_or_bytes, fmt, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    name = path_or_bytes.name if isinstance(path_or_bytes, Path) else "report"
    return client.post(f"/api/v1/projects/{project.pk}/results/",
                       {"file": SimpleUploadedFile(name, content), "format": fmt, **fields}, format="multipart")


AUDIENCE = "https://mlsec.example"


@pytest.fixture
def issuer():
    """A CI identity issuer made here: an RSA key, its JWKS served on 127.0.0.1, `issuer(**claims)` signs a JWT."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"

    def sign(signing_key=key, **claims):
        now = int(time.time())
        payload = {"iss": url, "aud": AUDIENCE, "iat": now, "exp": now + 300, "repository": "fraud/scorer",
                   "ref": "refs/heads/main", "jti": uuid.uuid4().hex, **claims}
        return jwt.encode({k: v for k, v in payload.items() if v is not None}, signing_key, algorithm="RS256",
                          headers={"kid": "k1"})

    sign.url = url
    yield sign
    server.shutdown()
