"""ssh:// Git sources against a real OpenSSH server (tests/servers/ssh_server.py).

`ssh` resolves the name it is given on its own, after the portal's guard has vetted it, so a DNS answer
that changed in between (rebinding) could send it to an address the guard refuses. The portal now gives
ssh the vetted address and has it look the host key up under the name. The name used here resolves only
through this process's resolver, never ssh's own: a fetch that works shows ssh connected to the address it
was given.
"""

import socket

import pytest

from sources import services as source_services
from sources.fetch import FetchError, Limits
from sources.fetch import git as git_fetch

NAME = "git.pinned.test"
CODE = "def handler(event):\n    return event\n"


@pytest.fixture
def pinned_name(monkeypatch):
    """`git.pinned.test` is 127.0.0.1 for the portal's guard; no other resolver knows it."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if str(host).lower().rstrip(".") == NAME:
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def known_hosts(settings, tmp_path, ssh_git_server):
    path = tmp_path / "known_hosts"
    path.write_text(ssh_git_server.known_hosts_line(NAME))
    settings.MLSEC_SOURCE_SSH_KNOWN_HOSTS = str(path)
    return path


def fetch(org, server, repo, workspace, **credential):
    source = source_services.source_create(
        actor=org.lead, project=org.project, kind="git", name="over ssh",
        config={"url": server.url(repo, host=NAME), "ref": "main"},
        credential={"ssh_key": server.client_key, **credential})
    workspace.mkdir(exist_ok=True)
    return git_fetch.fetch(source, str(workspace), Limits.from_settings(timeout_s=10))


def test_ssh_connects_to_the_vetted_address_and_checks_the_host_key_under_the_name(
        org, workspaces, tmp_path, pinned_name, known_hosts, ssh_git_server):
    repo = ssh_git_server.create_repo({"src/handler.py": CODE})
    materialised = fetch(org, ssh_git_server, repo, tmp_path / "ws")
    assert materialised.revision["commit"] == repo.head
    assert (tmp_path / "ws" / "checkout" / "src" / "handler.py").read_text() == CODE


def test_a_host_key_that_is_not_the_known_one_fails_the_fetch(org, workspaces, tmp_path, pinned_name, known_hosts,
                                                              ssh_git_server):
    import subprocess

    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True,  # noqa: S603, S607
                   capture_output=True, timeout=30)
    kind, key = (tmp_path / "other_host_key.pub").read_text().split()[:2]
    known_hosts.write_text(f"{NAME} {kind} {key}\n")  # what an attacker in the middle would not match
    repo = ssh_git_server.create_repo({"src/handler.py": CODE})
    with pytest.raises(FetchError, match="could not be read"):
        fetch(org, ssh_git_server, repo, tmp_path / "ws")


def test_a_host_that_is_not_known_at_all_fails_instead_of_being_trusted(org, workspaces, tmp_path, pinned_name,
                                                                         known_hosts, ssh_git_server):
    known_hosts.write_text("")
    repo = ssh_git_server.create_repo({"src/handler.py": CODE})
    with pytest.raises(FetchError, match="could not be read"):
        fetch(org, ssh_git_server, repo, tmp_path / "ws")
    assert known_hosts.read_text() == ""  # nothing learnt on first use


def test_the_ssh_command_names_the_host_only_as_the_alias_of_its_key(settings):
    settings.MLSEC_SOURCE_SSH_KNOWN_HOSTS = "/etc/mlsec/known_hosts"
    command = git_fetch._ssh_command(NAME, 60, with_key=True)
    assert command.startswith("ssh -F /dev/null ")  # none of the worker's own ssh configuration
    for option in ("BatchMode=yes", "StrictHostKeyChecking=yes", f"HostKeyAlias={NAME}", "ConnectTimeout=60",
                   "UserKnownHostsFile=/etc/mlsec/known_hosts", "GlobalKnownHostsFile=/dev/null",
                   "IdentitiesOnly=yes", "IdentityAgent=none", "ControlMaster=no", "ControlPath=none"):
        assert f"-o {option}" in command
    assert "IdentityFile=none" not in command  # dulwich adds the deploy key with -i
    assert "-o IdentityFile=none" in git_fetch._ssh_command(NAME, 60, with_key=False)


def test_a_source_without_a_deploy_key_is_never_let_in_by_a_key_of_the_workers_agent(
        org, workspaces, tmp_path, pinned_name, known_hosts, ssh_git_server, monkeypatch):
    """A lead names another organisation's repository with no credential: the worker's ssh-agent holds a key
    that server accepts (here, the very deploy key). ssh must not offer it."""
    import os
    import subprocess
    import time

    agent_socket = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(agent_socket)],  # noqa: S603, S607
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if agent_socket.exists():
                break
            time.sleep(0.05)
        key = tmp_path / "agent_key"
        key.write_text(ssh_git_server.client_key)
        key.chmod(0o600)
        env = {**os.environ, "SSH_AUTH_SOCK": str(agent_socket)}
        subprocess.run(["ssh-add", str(key)], env=env, check=True, capture_output=True, timeout=30)  # noqa: S603, S607
        monkeypatch.setenv("SSH_AUTH_SOCK", str(agent_socket))
        repo = ssh_git_server.create_repo({"src/handler.py": CODE})
        source = source_services.source_create(
            actor=org.lead, project=org.project, kind="git", name="no key",
            config={"url": ssh_git_server.url(repo, host=NAME), "ref": "main"})
        (tmp_path / "ws").mkdir()
        with pytest.raises(FetchError, match="could not be read"):
            git_fetch.fetch(source, str(tmp_path / "ws"), Limits.from_settings(timeout_s=10))
    finally:
        agent.kill()
        agent.wait(10)
