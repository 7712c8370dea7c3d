"""OpenSSH's `sshd` on 127.0.0.1 serving Git repositories over ssh:// (git-upload-pack), for the tests.

    server = ssh_git_server                          # the session fixture (tests/servers/plugin.py)
    repo = server.create_repo({"app.py": "..."})     # a bare repository reached as ssh://<user>@host:port/<path>
    server.client_key                                # the private key the server accepts (a deploy key)
    server.known_hosts_line("git.example.test")      # its host key under a name, for a known_hosts file

It runs as the test's own user with a configuration, host key and authorized key of its own (no PAM, no
passwords, nothing of the system's sshd configuration), and logs to a file.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
from pathlib import Path

from tests.servers.git_daemon import GitRepo, create_repo, port_of
from tests.servers.process import LOOPBACK, ServerProcess, ServerStartError, free_port

SSHD = "/usr/sbin/sshd"


def sshd_executable() -> str | None:
    return SSHD if os.access(SSHD, os.X_OK) else shutil.which("sshd")


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mlsec-test", "-f", str(path)],  # noqa: S603, S607
                   check=True, capture_output=True, timeout=30)


class SshGitServer:
    def __init__(self, base_path: Path, log_path: Path):
        self.base_path = Path(base_path)
        self.base_path.mkdir(parents=True, exist_ok=True)
        self.repos = self.base_path / "repos"
        self.log_path = log_path
        self.user = getpass.getuser()
        self.server: ServerProcess | None = None

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def client_key(self) -> str:
        return (self.base_path / "client_ed25519").read_text()

    def known_hosts_line(self, name: str) -> str:
        kind, key = (self.base_path / "host_ed25519.pub").read_text().split()[:2]
        return f"{name} {kind} {key}\n"

    def url(self, repo: GitRepo, host: str = LOOPBACK) -> str:
        return f"ssh://{self.user}@{host}:{self.port}{repo.bare_path}"

    def create_repo(self, files: dict, name: str | None = None) -> GitRepo:
        return create_repo(self.repos, name, files)

    def start(self, attempts: int = 5) -> SshGitServer:
        host_key, client_key = self.base_path / "host_ed25519", self.base_path / "client_ed25519"
        if not host_key.exists():
            _keygen(host_key)
            _keygen(client_key)
            (self.base_path / "authorized_keys").write_text((self.base_path / "client_ed25519.pub").read_text())
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        for attempt in range(attempts):
            port = free_port()
            config = self.base_path / "sshd_config"
            config.write_text("\n".join([
                f"ListenAddress {LOOPBACK}", f"Port {port}", f"HostKey {host_key}",
                f"PidFile {self.base_path / 'sshd.pid'}", f"AuthorizedKeysFile {self.base_path / 'authorized_keys'}",
                "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password", f"AllowUsers {self.user}", "LogLevel VERBOSE", "",
            ]))
            self.server = ServerProcess("sshd", [sshd_executable(), "-D", "-e", "-f", str(config)],
                                        log_path=self.log_path, cwd=self.base_path)
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
        return [("sshd", self.log_path)]
