"""Git repositories made by a test, served by a real `git daemon` on 127.0.0.1 (and as file:// URLs).

    repo = git_daemon.create_repo("fraud-model", {"requirements.txt": "torch==1.0\\n", "src/app.py": "..."})
    repo.url             # git://127.0.0.1:<port>/fraud-model.git
    repo.file_url        # file:///.../fraud-model.git
    sha = repo.commit({"src/settings.py": "KEY = 'x'\\n", "old.txt": None}, message="Add settings")  # None deletes
    repo.tag("v1.0"); repo.branch("release", at=sha)

Commits are made in a work tree beside the bare repository and pushed into it, so the daemon serves
them at once, as a hosting service would after a push.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.process import (
    LOOPBACK,
    ServerProcess,
    ServerStartError,
    free_port,
    isolated_env,
    listening_ports,
    port_accepts,
)


def port_of(server: ServerProcess) -> set[int]:
    return listening_ports(server.process.pid)

GIT_AUTHOR = {
    "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.test",
    "GIT_COMMITTER_NAME": "Test Author", "GIT_COMMITTER_EMAIL": "author@example.test",
}


def git_executable() -> str | None:
    return shutil.which("git")


def git_env(home: Path) -> dict[str, str]:
    """No user or system configuration: the same git behaviour on every machine."""
    return isolated_env({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
                         **GIT_AUTHOR}, home=home)


def run_git(*args: str, cwd: Path, home: Path, input: bytes | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=git_env(home), input=input,  # noqa: S603, S607
                            capture_output=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode().strip()


@dataclass
class GitRepo:
    """A bare repository (what a server serves) and the work tree the test commits from."""

    name: str
    bare_path: Path
    work_path: Path
    home: Path
    daemon_url: str | None = None
    default_branch: str = "main"
    commits: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        if self.daemon_url is None:
            raise RuntimeError(f"{self.name} is not served by a git daemon: use file_url, or git_daemon.create_repo")
        return self.daemon_url

    @property
    def file_url(self) -> str:
        return self.bare_path.as_uri()

    @property
    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def git(self, *args: str) -> str:
        return run_git(*args, cwd=self.work_path, home=self.home)

    def commit(self, files: dict[str, str | bytes | None], message: str = "Change files", *,
               branch: str | None = None) -> str:
        """Write (or, for None, delete) the files, commit them, push to the bare repository; the SHA."""
        branch = branch or self.default_branch
        if self.commits and branch != self.git("rev-parse", "--abbrev-ref", "HEAD"):
            exists = self.git("branch", "--list", branch)
            self.git("checkout", "-q", branch) if exists else self.git("checkout", "-q", "-b", branch)
        for relative, content in files.items():
            path = self.work_path / relative
            if not path.resolve().is_relative_to(self.work_path.resolve()):
                raise ValueError(f"{relative!r} is outside the repository")
            if content is None:
                self.git("rm", "-q", "--", relative)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.encode() if isinstance(content, str) else content)
            self.git("add", "--", relative)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        sha = self.head
        self.git("push", "-q", "origin", f"{branch}:refs/heads/{branch}")
        self.commits.append(sha)
        return sha

    def tag(self, name: str, at: str = "HEAD", message: str | None = None) -> str:
        self.git("tag", *(["-a", "-m", message] if message else []), name, at)
        self.git("push", "-q", "origin", f"refs/tags/{name}")
        return self.git("rev-parse", f"{name}^{{commit}}")

    def branch(self, name: str, at: str = "HEAD") -> str:
        sha = self.git("rev-parse", at)
        self.git("push", "-q", "origin", f"{sha}:refs/heads/{name}")
        return sha

    def force_reset(self, at: str, branch: str | None = None) -> None:
        """Rewrite history on the server (a force-push of `branch` back to `at`)."""
        branch = branch or self.default_branch
        self.git("reset", "-q", "--hard", at)
        self.git("push", "-q", "--force", "origin", f"{branch}:refs/heads/{branch}")


def create_repo(base: Path, name: str | None, files: dict[str, str | bytes | None] | None, *,
                message: str = "Initial commit", daemon_url: str | None = None, branch: str = "main") -> GitRepo:
    """A bare repository `<base>/<name>.git`, with a first commit of `files` when given."""
    name = name or f"repo-{uuid.uuid4().hex[:8]}"
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"repository names are letters, digits, - and _: {name!r}")
    bare = base / f"{name}.git"
    if bare.exists():
        raise FileExistsError(f"repository {name} exists already")
    base.mkdir(parents=True, exist_ok=True)
    home = base.parent / f"{base.name}-home"  # outside `base`: the daemon serves only the bare repositories
    home.mkdir(exist_ok=True)
    work = base.parent / f"{base.name}-work" / name
    work.mkdir(parents=True)
    run_git("init", "-q", "--bare", f"--initial-branch={branch}", str(bare), cwd=base, home=home)
    run_git("init", "-q", f"--initial-branch={branch}", cwd=work, home=home)
    run_git("remote", "add", "origin", str(bare), cwd=work, home=home)
    repo = GitRepo(name=name, bare_path=bare, work_path=work, home=home, daemon_url=daemon_url, default_branch=branch)
    if files is not None:
        repo.commit(files, message=message)
    return repo


class GitDaemon:
    """`git daemon` serving every bare repository under `base_path` over git:// on 127.0.0.1."""

    def __init__(self, base_path: Path, log_path: Path, *, receive_pack: bool = False):
        self.base_path = Path(base_path)
        self.base_path.mkdir(parents=True, exist_ok=True)
        self.receive_pack = receive_pack
        self.server: ServerProcess | None = None
        self.log_path = log_path

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def base_url(self) -> str:
        return f"git://{LOOPBACK}:{self.port}"

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}.git"

    def start(self, attempts: int = 5) -> GitDaemon:
        home = self.base_path.parent / f"{self.base_path.name}-home"
        home.mkdir(exist_ok=True)
        for attempt in range(attempts):
            port = free_port()  # git daemon reads --port=0 as its default port 9418
            argv = ["git", "daemon", "--export-all", "--reuseaddr", f"--base-path={self.base_path}",
                    f"--listen={LOOPBACK}", f"--port={port}", "--informative-errors", "--verbose",
                    *(["--enable=receive-pack"] if self.receive_pack else [])]
            self.server = ServerProcess("git daemon", argv, log_path=self.log_path, env=git_env(home),
                                        cwd=self.base_path)
            try:
                self.server.start(ready=lambda server, port=port: port if port in port_of(server) else None,
                                  timeout=15)
                return self
            except ServerStartError:
                if attempt == attempts - 1:
                    raise
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()

    def server_logs(self) -> list[tuple[str, Path]]:
        return [("git daemon", self.log_path)]

    def create_repo(self, name: str | None = None, files: dict[str, str | bytes | None] | None = None,
                    message: str = "Initial commit", branch: str = "main") -> GitRepo:
        repo = create_repo(self.base_path, name, files, message=message, branch=branch)
        repo.daemon_url = self.url(repo.name)
        return repo

    def accepts(self) -> bool:
        return self.server is not None and self.server.alive() and port_accepts(self.port)
