"""pytest fixtures for the real servers of tests/servers (registered by the root conftest.py).

Session-scoped servers start on first request only (a test run that asks for none starts none) and
stop at the end of the session; with pytest-xdist each worker has its own. Every server logs to a file
in the session's temporary directory; when a test fails, the logs of the servers it used are added to
its report. The per-test fixtures `smtp_sink` and `webhook_receiver` are emptied before each test.
"""

from __future__ import annotations

import shutil

import pytest

from tests.servers.cache import ToolMissing
from tests.servers.process import log_tail

# Tests that ask for these share one server per xdist worker: keep them on one worker (`--dist loadgroup`).
HEAVY_SERVERS = {"mlflow_server": "mlflow-server"}


def _require(condition: bool, reason: str) -> None:
    from conftest import require  # the root conftest's: skip locally, fail under CI=true

    require(condition, reason)


def _started(request, server):
    try:
        server.start()
    except ToolMissing as missing:
        _require(False, str(missing))
    request.addfinalizer(server.stop)
    return server


@pytest.fixture(scope="session")
def servers_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def git_daemon(request, servers_dir):
    """`git daemon` on 127.0.0.1 serving the repositories made with `git_daemon.create_repo(...)`."""
    from tests.servers.git_daemon import GitDaemon, git_executable

    _require(git_executable() is not None, "git is not installed (apt-get install git)")
    return _started(request, GitDaemon(servers_dir / "git", servers_dir / "git-daemon.log"))


@pytest.fixture(scope="session")
def ssh_git_server(request, servers_dir):
    """OpenSSH's `sshd` on 127.0.0.1 serving bare repositories over ssh:// to one deploy key."""
    from tests.servers.git_daemon import git_executable
    from tests.servers.ssh_server import SshGitServer, sshd_executable

    _require(git_executable() is not None, "git is not installed (apt-get install git)")
    _require(sshd_executable() is not None and shutil.which("ssh") is not None,
             "OpenSSH's server is not installed (apt-get install openssh-server)")
    return _started(request, SshGitServer(servers_dir / "ssh", servers_dir / "sshd.log"))


@pytest.fixture
def make_git_repo(tmp_path):
    """A factory of local repositories reached by file:// URLs (no daemon): make_git_repo(name, files)."""
    from tests.servers.git_daemon import create_repo, git_executable

    _require(git_executable() is not None, "git is not installed (apt-get install git)")

    def make(name: str | None = None, files: dict | None = None, message: str = "Initial commit",
             branch: str = "main"):
        return create_repo(tmp_path / "git", name, files, message=message, branch=branch)

    return make


@pytest.fixture(scope="session")
def s3_server(request, servers_dir):
    """moto's S3 API on 127.0.0.1, checking SigV4 credentials (an admin key and `create_user(policy)`)."""
    from tests.servers.s3_server import S3Server

    return _started(request, S3Server(servers_dir / "moto-s3.log"))


@pytest.fixture(scope="session")
def mlflow_server(request, servers_dir):
    """`mlflow server` on 127.0.0.1 (SQLite, local artifacts); its virtualenv is built on first use."""
    from tests.servers.mlflow_server import MlflowServer

    return _started(request, MlflowServer(servers_dir / "mlflow", servers_dir / "mlflow-server.log"))


@pytest.fixture(scope="session")
def oidc_provider(request, servers_dir):
    """npm's oidc-provider under Node on 127.0.0.1: users, clients and a login form (see oidc_provider.py)."""
    from tests.servers.oidc_provider import OidcProvider

    _require(shutil.which("node") is not None, "node is not installed (apt-get install nodejs npm)")
    return _started(request, OidcProvider(servers_dir / "oidc", servers_dir / "oidc-provider.log"))


@pytest.fixture(scope="session")
def _smtp_sink_server(request):
    from tests.servers.smtp_sink import SmtpSink

    return _started(request, SmtpSink())


@pytest.fixture
def smtp_sink(_smtp_sink_server):
    """aiosmtpd on 127.0.0.1 collecting messages, emptied (and accepting again) before each test."""
    _smtp_sink_server.reset()
    yield _smtp_sink_server
    _smtp_sink_server.reset()


@pytest.fixture(scope="session")
def _webhook_receiver_server(request):
    from tests.servers.webhook_receiver import WebhookReceiver

    return _started(request, WebhookReceiver())


@pytest.fixture
def webhook_receiver(_webhook_receiver_server):
    """An HTTP server on 127.0.0.1 recording requests, emptied (and answering 200 again) before each test."""
    _webhook_receiver_server.reset()
    yield _webhook_receiver_server
    _webhook_receiver_server.reset()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, group in HEAVY_SERVERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))


def apply_xdist_groups(items, loadgroup: bool, groups: set[str]) -> None:
    """`--dist loadgroup` for the groups of HEAVY_SERVERS under pytest 9.

    pytest-xdist 3.8.0 (the newest) marks a group by rewriting `item._nodeid`, which pytest 9 no
    longer reads (a node's id is `item._id`), so every `xdist_group` is silently ignored. This writes
    the group where pytest 9 reads it, for our groups only: applied to all groups it would also make
    the `celery-worker` group of tests/test_worker_integration.py work, and xdist schedules a group
    first on its worker, so those transactional tests would flush the catalogue before that worker's
    database tests (which expect it from django_db_setup) ran. See tests/servers/README.md."""
    if not loadgroup:
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                 for mark in item.iter_markers("xdist_group")}
        if names and names <= groups and "@" not in item.nodeid and hasattr(item, "_id"):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(names))}")


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which sends the ids to the scheduler
def pytest_collection_finish(session) -> None:
    apply_xdist_groups(session.items, bool(getattr(session.config.option, "loadgroup", False)),
                       set(HEAVY_SERVERS.values()))


def attach_server_logs(item, report) -> None:
    """Add to a failed test's report the log of every server among its fixtures."""
    if not report.failed:
        return
    seen = set()
    for value in getattr(item, "funcargs", {}).values():
        server_logs = getattr(value, "server_logs", None)
        if not callable(server_logs):
            continue
        for name, path in server_logs():
            if path not in seen:
                seen.add(path)
                report.sections.append((f"{name} log ({path})", log_tail(path) or "(empty)"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    attach_server_logs(item, report)
    return report
