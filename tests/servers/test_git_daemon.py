"""The git daemon fixture serves real repositories that real git clients clone, fetch and are refused by."""

from __future__ import annotations

import subprocess

import pytest

from tests.servers.git_daemon import GitDaemon, git_env
from tests.servers.process import port_accepts


def git(*args, cwd, home):
    return subprocess.run(["git", *args], cwd=cwd, env=git_env(home), capture_output=True, text=True, timeout=60)


@pytest.fixture
def home(tmp_path):
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def test_a_clone_over_git_protocol_has_the_files_and_the_commit_of_the_repository(git_daemon, tmp_path, home):
    repo = git_daemon.create_repo(files={"requirements.txt": "torch==1.13.0\n", "src/app.py": b"print('hi')\n"})
    assert repo.url == f"git://127.0.0.1:{git_daemon.port}/{repo.name}.git"

    cloned = git("clone", "-q", repo.url, str(tmp_path / "clone"), cwd=tmp_path, home=home)

    assert cloned.returncode == 0, cloned.stderr
    assert (tmp_path / "clone" / "requirements.txt").read_text() == "torch==1.13.0\n"
    assert (tmp_path / "clone" / "src" / "app.py").read_bytes() == b"print('hi')\n"
    assert git("rev-parse", "HEAD", cwd=tmp_path / "clone", home=home).stdout.strip() == repo.head


def test_a_pushed_commit_is_served_at_once_and_an_older_commit_can_be_fetched_shallow_by_its_sha(
        git_daemon, tmp_path, home):
    repo = git_daemon.create_repo(files={"settings.py": "API_KEY = 'AKIAABCDEFGHIJKLMNOP'\n"}, message="Add key")
    leaked = repo.head
    fixed = repo.commit({"settings.py": "import os\nAPI_KEY = os.environ['API_KEY']\n"}, message="Read the key")

    remote = git("ls-remote", repo.url, cwd=tmp_path, home=home).stdout
    assert f"{fixed}\trefs/heads/main" in remote

    work = tmp_path / "shallow"
    work.mkdir()
    git("init", "-q", cwd=work, home=home)
    fetched = git("fetch", "-q", "--depth", "1", repo.url, leaked, cwd=work, home=home)
    assert fetched.returncode == 0, fetched.stderr
    shown = git("show", f"{leaked}:settings.py", cwd=work, home=home).stdout
    assert "AKIAABCDEFGHIJKLMNOP" in shown  # pragma: allowlist secret
    assert git("rev-list", "--count", "FETCH_HEAD", cwd=work, home=home).stdout.strip() == "1"


def test_files_can_be_deleted_tagged_and_branched(make_git_repo, tmp_path, home):
    repo = make_git_repo("local", {"a.txt": "a", "b.txt": "b"})
    first = repo.head
    repo.commit({"b.txt": None}, message="Remove b")
    assert repo.tag("v1.0", at=first, message="First release") == first
    assert repo.branch("release", at=first) == first

    cloned = git("clone", "-q", "--branch", "v1.0", repo.file_url, str(tmp_path / "c"), cwd=tmp_path, home=home)

    assert cloned.returncode == 0, cloned.stderr
    assert (tmp_path / "c" / "b.txt").exists()
    remote = git("ls-remote", repo.file_url, cwd=tmp_path, home=home).stdout
    assert f"{first}\trefs/heads/release" in remote and "refs/tags/v1.0" in remote
    assert repo.file_url.startswith("file:///")


def test_a_file_outside_the_repository_is_refused(make_git_repo):
    repo = make_git_repo(files={"a": "a"})
    with pytest.raises(ValueError, match="outside"):
        repo.commit({"../escape.txt": "x"})


def test_a_repository_that_does_not_exist_is_an_error_the_client_reports(git_daemon, tmp_path, home):
    cloned = git("clone", "-q", git_daemon.url("nothing-here"), str(tmp_path / "c"), cwd=tmp_path, home=home)

    assert cloned.returncode != 0
    assert "no such repository: /nothing-here.git" in cloned.stderr  # --informative-errors


def test_pushing_over_git_protocol_is_refused_by_default_and_accepted_when_enabled(git_daemon, tmp_path, home):
    repo = git_daemon.create_repo(files={"a": "a"})
    work = tmp_path / "w"
    git("clone", "-q", repo.url, str(work), cwd=tmp_path, home=home)
    (work / "b").write_text("b")
    git("add", "b", cwd=work, home=home)
    git("commit", "-q", "-m", "b", cwd=work, home=home)

    refused = git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=work, home=home)
    assert refused.returncode != 0

    writable = GitDaemon(git_daemon.base_path, tmp_path / "writable.log", receive_pack=True).start()
    try:
        git("config", "receive.denyCurrentBranch", "ignore", cwd=repo.bare_path, home=home)
        pushed = git("push", "-q", writable.url(repo.name), "HEAD:refs/heads/main", cwd=work, home=home)
        assert pushed.returncode == 0, pushed.stderr
    finally:
        writable.stop()
    assert git("rev-parse", "main", cwd=repo.bare_path, home=home).stdout.strip() != repo.head


def test_stopping_the_daemon_ends_its_processes_and_frees_its_port(tmp_path):
    daemon = GitDaemon(tmp_path / "repos", tmp_path / "daemon.log").start()
    port, process = daemon.port, daemon.server.process
    assert port_accepts(port)

    daemon.stop()

    assert process.poll() is not None
    assert not port_accepts(port)
