"""Git sources through dulwich: resolve the ref on the remote, fetch that one commit (depth 1),
check its tree out, record the commit SHA. No history is kept, so a secret removed in a later
commit is not found again at the new revision (and a secret in the checked-out commit is)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
from urllib.parse import urlparse, urlsplit, urlunsplit

from ..crypto import unseal
from ..validators import has_control_characters
from . import FetchedFile, FetchError, Limits, Materialised, failure, guard_host, guarded_connection

SHA = re.compile(r"^[0-9a-f]{40}$")
PORTS = {"git": 9418, "https": 443, "http": 80, "ssh": 22}


def _pinned_url(url: str, resolved) -> str:
    """`url` with its host replaced by the first vetted address (git:// names no host in TLS or headers)."""
    parts = urlsplit(url)
    family, address = resolved.addresses[0]
    host = f"[{address}]" if ":" in address else address
    netloc = (parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else "") + host
    return urlunsplit(parts._replace(netloc=netloc + (f":{parts.port}" if parts.port else "")))


def _pinned_pool_manager(resolved, limits: Limits):
    """A urllib3 pool manager for the one host of the source, its connections pinned to the addresses
    the guard vetted (sources.fetch.guarded_connection)."""
    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection

    class PinnedPoolManager(urllib3.PoolManager):
        def _new_pool(self, scheme, host, port, request_context=None):
            if (host or "").lower().rstrip(".") != resolved.host.lower().rstrip(".") or port != resolved.port:
                raise urllib3.exceptions.HTTPError("a request to a host other than the source's was refused")
            pool = super()._new_pool(scheme, host, port, request_context)
            pool.ConnectionCls = guarded_connection(HTTPSConnection if scheme == "https" else HTTPConnection,
                                                    limits.allowed_networks, pinned=resolved)
            return pool

    # Redirects are never followed (a vetted host could send the fetch to an address the guard refuses),
    # nothing is retried, each exchange is bounded, certificates are verified.
    return PinnedPoolManager(timeout=urllib3.Timeout(connect=limits.timeout_s, read=limits.timeout_s),
                             retries=urllib3.Retry(total=0, redirect=0, raise_on_redirect=True),
                             cert_reqs="CERT_REQUIRED")


def _bounded_tcp_client(url: str, timeout_s: float, total_s: float | None = None, **kwargs):
    """dulwich's git:// client, each read from the server bounded by `timeout_s`.

    dulwich opens the git:// socket without a timeout, so a server that accepts the connection and then
    says nothing held a sync until the task's time limit (30 minutes). The socket is reached through the
    protocol's reader (`BufferedReader.raw` is the socket's `SocketIO`); if a dulwich release changes that,
    the connection is refused rather than left unbounded (sources/tests/test_git_sources.py)."""
    from dulwich.client import TCPGitClient

    class BoundedTCPGitClient(TCPGitClient):
        def _connect(self, cmd, path, protocol_version=None):
            proto, can_read, stderr = super()._connect(cmd, path, protocol_version)
            sock = getattr(getattr(getattr(proto.read, "__self__", None), "raw", None), "_sock", None)
            if sock is None or not hasattr(sock, "settimeout"):
                proto.close()
                raise OSError("the git:// connection's reads could not be bounded")
            sock.settimeout(timeout_s)
            if total_s is not None:  # a connection test: the whole exchange, however the server trickles
                from checks.runners.netguard import Deadline

                Deadline(total_s).arm(sock)
            return proto, can_read, stderr

    parsed = urlparse(url)  # as dulwich's get_transport_and_path reads a git:// URL
    return BoundedTCPGitClient.from_parsedurl(parsed, **kwargs), parsed.path


def _ssh_command(host: str, timeout_s: float, *, with_key: bool) -> str:
    """The `ssh` command line for an ssh:// source whose URL names the vetted address instead of the host.

    ssh resolves the name it is given on its own, after the guard: given the address, it cannot be sent
    elsewhere by a DNS answer that changes in between (rebinding). Its host key is still looked up under
    the name (`HostKeyAlias`: a known_hosts line names the bare host, whatever the port), and only a key
    already known is accepted (`StrictHostKeyChecking=yes`, never a prompt: `BatchMode`), in
    MLSEC_SOURCE_SSH_KNOWN_HOSTS when set (else the worker user's ~/.ssh/known_hosts). Nothing of the
    worker's own ssh set-up takes part (`-F /dev/null`): no key of its agent or its ~/.ssh is offered (the
    source's deploy key only, or none), no shared master connection, no forwarding. A server that stops
    answering is dropped after about twice the exchange timeout."""
    from django.conf import settings

    seconds = max(1, int(timeout_s))
    options = {"BatchMode": "yes", "StrictHostKeyChecking": "yes", "UpdateHostKeys": "no", "HostKeyAlias": host,
               "ConnectTimeout": seconds, "ServerAliveInterval": seconds, "ServerAliveCountMax": 2,
               "IdentitiesOnly": "yes", "IdentityAgent": "none", "ControlMaster": "no", "ControlPath": "none",
               "ForwardAgent": "no", "ClearAllForwardings": "yes", "PasswordAuthentication": "no"}
    if not with_key:
        options["IdentityFile"] = "none"  # else ssh tries ~/.ssh/id_* of the worker's user
    known_hosts = getattr(settings, "MLSEC_SOURCE_SSH_KNOWN_HOSTS", "")
    if known_hosts:
        options.update(UserKnownHostsFile=known_hosts, GlobalKnownHostsFile="/dev/null")
    return shlex.join(["ssh", "-F", "/dev/null",
                       *(arg for name, value in options.items() for arg in ("-o", f"{name}={value}"))])


def _client(source, limits: Limits, key_dir: str | None):
    from dulwich.client import get_transport_and_path

    url = source.config.get("url", "")
    scheme = urlsplit(url).scheme.lower()
    # Fail closed: only the schemes the guard vets (file:// is for administrators, checked when saved);
    # a URL another reader could parse differently never reaches dulwich.
    if has_control_characters(url) or (scheme not in PORTS and scheme != "file") or (
            scheme in PORTS and not url.lower().startswith(f"{scheme}://")):
        raise FetchError(f"The URL of {source.describe()} cannot be used: give a git://, https:// or ssh:// URL.")
    resolved = guard_host(source, url, limits, PORTS[scheme]) if scheme in PORTS else None
    credential = unseal(source.credential_encrypted)
    kwargs: dict = {}
    if scheme in ("git", "ssh") and resolved is not None:
        url = _pinned_url(url, resolved)
    if scheme in ("https", "http") and resolved is not None:
        kwargs["pool_manager"] = _pinned_pool_manager(resolved, limits)
    if "token" in credential and scheme in ("https", "http"):
        kwargs.update(username="x-access-token", password=credential["token"])
    if scheme == "ssh" and resolved is not None:
        kwargs["ssh_command"] = _ssh_command(resolved.host, limits.timeout_s, with_key="ssh_key" in credential)
    if "ssh_key" in credential and scheme == "ssh":
        if key_dir is None:
            raise FetchError(f"{source.describe()}: a deploy key needs a private folder to be written to.")
        path = os.path.join(key_dir, "deploy_key")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(credential["ssh_key"].strip() + "\n")
        kwargs["key_filename"] = path
    try:
        if scheme == "git":
            return _bounded_tcp_client(url, limits.timeout_s, limits.total_s, **kwargs)
        return get_transport_and_path(url, **kwargs)
    except Exception as exc:  # noqa: BLE001 - an unknown scheme, a malformed URL
        raise failure(source, "the repository URL cannot be used", exc) from None


def _resolve(source, refs: dict[bytes, bytes]) -> bytes:
    ref = (source.config.get("ref") or "").strip()
    if not ref:
        head = refs.get(b"HEAD")
        if head:
            return head
        raise FetchError(f"The repository of {source.describe()} has no default branch; give a ref.")
    if SHA.match(ref.lower()):
        return ref.lower().encode()
    for name in (f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", f"refs/heads/{ref}", ref):
        sha = refs.get(name.encode())
        if sha:
            return sha
    raise FetchError(f"The ref '{ref}' does not exist in the repository of {source.describe()}.")


def _remote_refs(source, client, path) -> dict[bytes, bytes]:
    try:
        result = client.get_refs(path)
    except Exception as exc:  # noqa: BLE001 - unreachable host, refused, no such repository, wrong credential
        raise failure(source, "the repository could not be read", exc) from None
    return dict(getattr(result, "refs", result))


def fetch(source, workspace: str, limits: Limits) -> Materialised:
    from dulwich.repo import Repo

    private = tempfile.mkdtemp(prefix="key-", dir=workspace)
    try:
        client, path = _client(source, limits, private)
        refs = _remote_refs(source, client, path)
        sha = _resolve(source, refs)
        checkout = os.path.join(workspace, "checkout")
        repo = Repo.init(checkout, mkdir=True)
        try:
            try:
                client.fetch(path, repo, determine_wants=lambda *_a, **_k: [sha], depth=1)
            except Exception as exc:  # noqa: BLE001
                raise failure(source, f"commit {sha.decode()[:12]} could not be fetched", exc) from None
            try:
                commit = repo[sha]
                while commit.type_name == b"tag":  # an annotated tag named by its object id
                    commit = repo[commit.object[1]]
            except KeyError:
                raise FetchError(f"The ref of {source.describe()} does not name a commit.") from None
            if commit.type_name != b"commit":
                raise FetchError(f"The ref of {source.describe()} does not name a commit.")
            _write_tree(source, repo, commit.tree, checkout, limits)
        finally:
            repo.close()
    finally:
        shutil.rmtree(private, ignore_errors=True)
    shutil.rmtree(os.path.join(checkout, ".git"), ignore_errors=True)
    root = checkout
    subdir = (source.config.get("subdir") or "").strip("/")
    if subdir:
        root = os.path.realpath(os.path.join(checkout, subdir))
        if not root.startswith(os.path.realpath(checkout) + os.sep) or not os.path.isdir(root):
            raise FetchError(f"The sub-directory '{subdir}' does not exist at this commit in {source.describe()}.")
    revision = {"commit": commit.id.decode()}
    if source.config.get("ref"):
        revision["ref"] = source.config["ref"]
    files = []
    for current, _dirs, names in os.walk(root):
        for name in names:
            rel = os.path.relpath(os.path.join(current, name), root)
            files.append(FetchedFile(rel, f"{source.name}:{rel}", revision={"commit": revision["commit"], "path": rel}))
    return Materialised(source, root, revision, sorted(files, key=lambda f: f.path), prefixes=[(f"{source.name}:", "")])


def _write_tree(source, repo, tree_id: bytes, checkout: str, limits: Limits) -> None:
    """Write the commit's regular files (symbolic links and submodules are not written: a link could
    point out of the workspace), refusing a tree beyond the file-count or byte limits."""
    from dulwich.object_store import iter_tree_contents

    count = total = 0
    for entry in iter_tree_contents(repo.object_store, tree_id):
        if entry.mode & 0o170000 != 0o100000:
            continue
        parts = entry.path.decode("utf-8", "replace").split("/")
        if any(p in ("", ".", "..", ".git") for p in parts):
            continue
        blob = repo.object_store[entry.sha]
        count += 1
        total += blob.raw_length()
        if count > limits.max_files or total > limits.max_bytes:
            raise FetchError(f"{source.describe()} is larger than the limits of a check run "
                             f"({limits.max_files} files, {limits.max_bytes // (1024 * 1024)} MB).")
        target = os.path.join(checkout, *parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(blob.as_raw_string())


def probe(source, limits: Limits) -> str:
    key_dir = tempfile.mkdtemp(prefix="mlsec-probe-")  # a deploy key never stays on disk, nor is shared
    try:
        client, path = _client(source, limits, key_dir)
        sha = _resolve(source, _remote_refs(source, client, path))
    finally:
        shutil.rmtree(key_dir, ignore_errors=True)
    return f"The repository answered; {source.config.get('ref') or 'its default branch'} is at {sha.decode()[:12]}."
