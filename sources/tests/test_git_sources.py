"""Done when 1: a project with a `git` source on a real `git daemon`: the checks find the vulnerable
pin, the secret (by file and line) and the bandit issue at the commit they record; a fix commit
lifts the cap and the run names the new SHA. Every workspace is gone after its run."""

import json

import pytest

from assessments.choices import AssessmentStatus
from assessments.tests.factories import make_assessment
from scoring.services import scorecard_for
from sources import services as source_services
from sources.tests.conftest import run_now

AWS_ID = "AKIA" + "Q3EGRXMPL" + "7TZ4WQN"
RISKY = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
SAFE = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call([cmd])\n"


def practice_score(team, code):
    return next(p for p in scorecard_for([team]).teams[0].practices if p.practice.code == code)


@pytest.fixture
def vulnerable_repo(git_daemon):
    repo = git_daemon.create_repo(None, {"requirements.txt": "numpy==1.21.0\n", "src/app.py": RISKY,
                                         "src/settings.py": "import os\nAWS_ACCESS_KEY_ID = '" + AWS_ID + "'\n"})
    return repo


def test_checks_find_pin_secret_and_bandit_issue_at_the_recorded_commit_and_a_fix_lifts_the_cap(
        org, workspaces, numpy_advisory, vulnerable_repo):
    make_assessment(org.project, levels=4, status=AssessmentStatus.APPROVED)
    source = source_services.source_create(actor=org.lead, project=org.project, kind="git", name="repo",
                                           config={"url": vulnerable_repo.url, "ref": "main"})
    first = vulnerable_repo.head
    deps = run_now(org.project, "dependency-vulnerabilities")
    secrets = run_now(org.project, "source-secrets")
    bandit = run_now(org.project, "source-static-analysis")
    for run in (deps, secrets, bandit):
        assert run.status == "failed", run.summary
        assert run.source_id == source.pk and run.revision["commit"] == first
    assert any("GHSA-fx5c-h9f6-rv7c" in f["title"] for f in deps.findings)
    assert any(f["ref"] == "repo:src/settings.py:2" for f in secrets.findings)
    assert any(f["title"].startswith("B602") and f["ref"] == "repo:src/app.py:5" for f in bandit.findings)
    stored = json.dumps([deps.findings, secrets.findings, bandit.findings, deps.data, bandit.data])
    assert str(workspaces) not in stored and "/checkout" not in stored and AWS_ID not in stored
    assert practice_score(org.team, "MLS-03").capped  # the failing dependency check caps its practice
    assert list(workspaces.iterdir()) == []  # each run removed its workspace

    fixed = vulnerable_repo.commit({"requirements.txt": "numpy==1.22.0\n", "src/app.py": SAFE,
                                    "src/settings.py": "import os\nAWS_ACCESS_KEY_ID = os.environ['AWS_ID']\n"},
                                   message="Fix the pin, the key and the shell call")
    deps, secrets, bandit = (run_now(org.project, key) for key in
                             ("dependency-vulnerabilities", "source-secrets", "source-static-analysis"))
    for run in (deps, secrets, bandit):
        assert run.status == "passed", run.summary
        assert run.revision["commit"] == fixed != first
    assert not practice_score(org.team, "MLS-03").capped  # a passing run at the newer revision lifts the cap
    # the secret is still in the history, but only the checked-out commit is fetched and scanned
    assert "AKIA" in vulnerable_repo.git("log", "-p")
    assert list(workspaces.iterdir()) == []
    source.refresh_from_db()
    assert source.status == "ok" and source.last_revision["commit"] == fixed


def test_a_tag_and_a_commit_pin_the_revision_and_a_subdir_narrows_the_tree(org, workspaces, git_daemon):
    repo = git_daemon.create_repo(None, {"svc/app.py": RISKY, "other/app.py": SAFE})
    tagged = repo.tag("v1.0", message="annotated")
    repo.commit({"svc/app.py": SAFE})
    source = source_services.source_create(actor=org.lead, project=org.project, kind="git", name="svc",
                                           config={"url": repo.url, "ref": "v1.0", "subdir": "svc"})
    run = run_now(org.project, "source-static-analysis")
    assert run.status == "failed" and run.revision["commit"] == tagged
    assert {f["ref"] for f in run.findings if f["title"].startswith("B602")} == {"svc:app.py:5"}
    source_services.source_update(actor=org.lead, source=source, config={"ref": repo.commits[-1]})
    run = run_now(org.project, "source-static-analysis")
    assert run.status == "passed" and run.revision["commit"] == repo.commits[-1]


def test_a_missing_repository_or_ref_ends_the_run_as_error_naming_the_source(org, workspaces, git_daemon):
    repo = git_daemon.create_repo(None, {"a.py": SAFE})
    source = source_services.source_create(actor=org.lead, project=org.project, kind="git", name="gone",
                                           config={"url": repo.url.replace(repo.url.rsplit("/", 1)[-1], "nope.git")})
    run = run_now(org.project, "source-secrets")
    assert run.status == "error" and "git source 'gone'" in run.summary
    source_services.source_update(actor=org.lead, source=source, config={"url": repo.url, "ref": "no-such-branch"})
    run = run_now(org.project, "source-secrets")
    assert run.status == "error" and "no-such-branch" in run.summary and "'gone'" in run.summary
    source.refresh_from_db()
    assert source.status == "error" and "gone" in source.status_detail
    assert list(workspaces.iterdir()) == []


def test_loopback_is_refused_unless_an_administrator_allows_it(org, workspaces, settings, git_daemon):
    repo = git_daemon.create_repo(None, {"a.py": SAFE})
    source_services.source_create(actor=org.lead, project=org.project, kind="git", name="local",
                                  config={"url": repo.url})
    settings.MLSEC_CHECK_ALLOWED_NETWORKS = []
    run = run_now(org.project, "source-secrets")
    assert run.status == "error" and "could not connect" in run.summary and "'local'" in run.summary


def test_file_urls_are_for_administrators_only(org, workspaces, make_git_repo):
    from django.core.exceptions import ValidationError

    local = make_git_repo("local", {"src/app.py": RISKY})
    with pytest.raises(ValidationError) as refused:
        source_services.source_create(actor=org.lead, project=org.project, kind="git", name="disk",
                                      config={"url": local.file_url})
    assert "administrator" in str(refused.value)
    source_services.source_create(actor=org.admin, project=org.project, kind="git", name="disk",
                                  config={"url": local.file_url})
    run = run_now(org.project, "source-static-analysis")
    assert run.status == "failed" and run.revision["commit"] == local.head


def test_a_tree_beyond_the_limits_or_with_links_out_reads_nothing_outside(org, workspaces, settings, git_daemon):
    repo = git_daemon.create_repo(None, {"a.py": SAFE, "b.py": SAFE})
    (repo.work_path / "passwd").symlink_to("/etc/passwd")
    repo.git("add", "passwd")
    repo.commit({"b.py": None}, message="A link out of the repository")
    source_services.source_create(actor=org.lead, project=org.project, kind="git", name="links",
                                  config={"url": repo.url})
    run = run_now(org.project, "source-secrets")
    assert run.status == "passed" and run.data["files_scanned"] == 1  # the link was not written
    settings.MLSEC_SOURCE_MAX_FILES = 0
    run = run_now(org.project, "source-secrets")
    assert run.status == "error" and "larger than the limits" in run.summary
    assert list(workspaces.iterdir()) == []


def test_the_evidence_of_a_run_names_the_commit_it_checked(org, workspaces, git_daemon):
    from evidence.models import Evidence

    repo = git_daemon.create_repo(None, {"app.py": SAFE})
    source_services.source_create(actor=org.lead, project=org.project, kind="git", name="repo",
                                  config={"url": repo.url})
    run = run_now(org.project, "source-secrets")
    assert run.status == "passed"
    evidence = Evidence.objects.filter(check_run=run)
    assert evidence and all(repo.head in e.text for e in evidence)


def test_pointing_a_failing_source_elsewhere_or_removing_it_never_lifts_the_cap(
        org, workspaces, numpy_advisory, vulnerable_repo, git_daemon):
    from checks.models import CheckRun

    make_assessment(org.project, levels=4, status=AssessmentStatus.APPROVED)
    source = source_services.source_create(actor=org.lead, project=org.project, kind="git", name="repo",
                                           config={"url": vulnerable_repo.url})
    failing = run_now(org.project, "dependency-vulnerabilities")
    assert failing.status == "failed" and practice_score(org.team, "MLS-03").capped
    clean = git_daemon.create_repo(None, {"requirements.txt": "numpy==1.22.0\n"})
    source_services.source_update(actor=org.lead, source=source, config={"url": clean.url})
    elsewhere = run_now(org.project, "dependency-vulnerabilities")
    assert elsewhere.status == "passed" and "failing verdict stands" in elsewhere.summary
    assert practice_score(org.team, "MLS-03").capped
    current = CheckRun.objects.get(definition_id="dependency-vulnerabilities", status__in=("passed", "failed"),
                                   superseded_at__isnull=True)
    assert current.pk == failing.pk
    source_services.source_delete(actor=org.lead, source=source)
    assert run_now(org.project, "dependency-vulnerabilities").status == "skipped"
    assert practice_score(org.team, "MLS-03").capped


def test_test_connection_answers_within_its_time_even_from_a_silent_server(org, workspaces, api):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        source = source_services.source_create(
            actor=org.lead, project=org.project, kind="git", name="silent",
            config={"url": f"git://127.0.0.1:{silent.getsockname()[1]}/repo.git"})
        from sources.fetch import FetchError, probe

        with pytest.raises(FetchError, match="did not answer within 1 s"):
            probe(source, timeout_s=1)
    finally:
        silent.close()


def test_test_connection_says_what_it_found(org, workspaces, api, git_daemon):
    repo = git_daemon.create_repo(None, {"a.py": SAFE})
    source = source_services.source_create(actor=org.lead, project=org.project, kind="git", name="repo",
                                           config={"url": repo.url, "ref": "main"})
    answer = api(org.member).post(f"/api/v1/projects/{org.project.pk}/sources/{source.pk}/test/")
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "detail": f"The repository answered; main is at {repo.head[:12]}."}


@pytest.fixture
def http_git(vulnerable_repo):
    """The same repository over smart HTTP (dulwich's own WSGI server on 127.0.0.1), plus a path on the same
    server that redirects elsewhere: what an https:// source reads through."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from dulwich.repo import Repo
    from dulwich.server import DictBackend
    from dulwich.web import make_wsgi_chain

    git_app = make_wsgi_chain(DictBackend({"/r.git": Repo(str(vulnerable_repo.bare_path))}))

    def app(environ, start_response):
        if environ["PATH_INFO"].startswith("/moved.git"):
            start_response("302 Found", [("Location", "http://127.0.0.2:9/latest/meta-data/")])
            return [b""]
        return git_app(environ, start_response)

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_an_http_git_source_is_fetched_and_a_redirect_is_never_followed(org, workspaces, vulnerable_repo, http_git):
    from sources.models import Source

    # Sources accept https:// only; the fetch path is the same for http://, which needs no certificate here.
    source = source_services.source_create(actor=org.lead, project=org.project, kind="git", name="repo",
                                           config={"url": "https://git.example.org/r.git", "ref": "main"})
    Source.objects.filter(pk=source.pk).update(config={"url": f"{http_git}/r.git", "ref": "main"})
    run = run_now(org.project, "source-secrets")
    assert run.status == "failed", run.summary  # the committed key was found: the fetch over HTTP worked
    assert run.source_id == source.pk and run.revision["commit"] == vulnerable_repo.head
    Source.objects.filter(pk=source.pk).update(config={"url": f"{http_git}/moved.git", "ref": "main"})
    run = run_now(org.project, "source-secrets")
    assert run.status == "error" and "repo" in run.summary, run.summary
    assert "127.0.0.2" not in run.summary and "meta-data" not in run.summary
    assert list(workspaces.iterdir()) == []


@pytest.mark.parametrize("transport", ["git", "http"])
def test_a_dns_answer_that_changes_after_the_guard_never_reaches_the_refused_address(
        org, workspaces, settings, vulnerable_repo, http_git, rebinding_dns, transport):
    from urllib.parse import urlsplit

    from sources.models import Source

    settings.MLSEC_CHECK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # 127.0.0.2 is refused
    url = vulnerable_repo.url if transport == "git" else f"{http_git}/r.git"
    port = urlsplit(url).port
    source = source_services.source_create(actor=org.lead, project=org.project, kind="git", name="repo",
                                           config={"url": "https://git.example.org/r.git", "ref": "main"})
    Source.objects.filter(pk=source.pk).update(
        config={"url": f"{transport}://repo.rebind.test:{port}{urlsplit(url).path}", "ref": "main"})
    run = run_now(org.project, "source-secrets")
    assert rebinding_dns["trapped"] == 0, "the fetch resolved the name again and connected to a refused address"
    assert run.status == "failed", run.summary  # fetched from the vetted address: the committed key was found
    assert run.revision["commit"] == vulnerable_repo.head


@pytest.mark.parametrize("url", ["\x01{url}", "gi\tt://{host}{path}", "git:/\n/{host}{path}", "{url}\x7f"])
def test_a_url_with_control_characters_is_refused_and_never_fetched(org, workspaces, settings, git_daemon, api, url):
    """urlsplit drops a leading \\x01 and removes tabs and newlines, so the scheme the guard saw was not the one
    dulwich used, and the guard was skipped: a lead reached loopback and cloud metadata (found by review)."""
    from urllib.parse import urlsplit

    from sources.models import Source

    repo = git_daemon.create_repo(None, {"a.py": SAFE})
    parts = urlsplit(repo.url)
    hostile = url.format(url=repo.url, host=parts.netloc, path=parts.path)
    response = api(org.lead).post(f"/api/v1/projects/{org.project.pk}/sources/",
                                  {"kind": "git", "name": "evil", "url": hostile}, format="json")
    assert response.status_code == 400 and "control characters" in str(response.data)
    assert not Source.objects.filter(name="evil").exists()
    # A value stored before this rule (or written to the database directly) is refused at fetch time.
    settings.MLSEC_CHECK_ALLOWED_NETWORKS = []
    source = source_services.source_create(actor=org.lead, project=org.project, kind="git", name="old",
                                           config={"url": "https://git.example.org/r.git"})
    Source.objects.filter(pk=source.pk).update(config={"url": hostile})
    run = run_now(org.project, "source-secrets")
    assert run.status == "error" and ("control characters" in run.summary or "cannot be used" in run.summary), run.summary
    assert run.revision.get("commit") is None


@pytest.mark.parametrize("greeting", [b"", b"0032"], ids=["says-nothing", "stops-mid-line"])
def test_a_sync_from_a_git_server_that_stalls_ends_within_the_exchange_timeout(org, workspaces, tmp_path, greeting):
    """dulwich sets no timeout on a git:// socket: a server that accepted and then stalled held the sync
    until the task's 30-minute limit. Each read is now bounded by MLSEC_SOURCE_TIMEOUT_S."""
    import socket
    import threading
    import time

    from sources.fetch import FetchError, Limits
    from sources.fetch import git as git_fetch

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    held = []

    def stall():
        conn, _ = listener.accept()
        held.append(conn)
        conn.recv(4096)  # the request
        if greeting:
            conn.sendall(greeting)  # a pkt-line length, then nothing
    threading.Thread(target=stall, daemon=True).start()
    try:
        source = source_services.source_create(
            actor=org.lead, project=org.project, kind="git", name="stalling",
            config={"url": f"git://127.0.0.1:{listener.getsockname()[1]}/repo.git"})
        limits = Limits.from_settings(timeout_s=1)
        outcome = {}

        def sync():  # in a thread, so that a regression fails this test instead of hanging the suite
            try:
                git_fetch.fetch(source, str(tmp_path), limits)
            except FetchError as exc:
                outcome["error"] = str(exc)
        started = time.monotonic()
        worker = threading.Thread(target=sync, daemon=True)
        worker.start()
        worker.join(15)
        assert not worker.is_alive(), "the sync is still waiting for the server"
        assert "could not be read" in outcome.get("error", "") and time.monotonic() - started < 10
    finally:
        for conn in held:
            conn.close()
        listener.close()


def test_a_connection_test_of_a_trickling_git_server_ends_at_its_deadline(org, workspaces):
    """A server that sends a byte every 50 ms keeps each read within its timeout; the test's thread is cut at
    the test's whole budget (netguard.Deadline on the socket), so it gives its slot back at once."""
    import socket
    import threading
    import time

    from sources import fetch as fetch_package

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()
    connections = []

    def trickle(conn):
        conn.sendall(b"00ff")  # a pkt-line of 255 bytes, sent one byte every 50 ms
        while not stop.wait(0.05):
            try:
                conn.sendall(b"a")
            except OSError:
                return

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    try:
        source = source_services.source_create(
            actor=org.lead, project=org.project, kind="git", name="slow",
            config={"url": f"git://127.0.0.1:{listener.getsockname()[1]}/repo.git"})
        for _ in range(fetch_package.MAX_PROBES_PER_TEAM + 1):  # more than the team's slots, one after another
            with pytest.raises(fetch_package.FetchError, match="did not answer within 0.5 s"):
                fetch_package.probe(source, timeout_s=0.5)
            deadline = time.monotonic() + 3
            while fetch_package._team_probes.get(org.team.pk) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert not fetch_package._team_probes.get(org.team.pk), "the thread still holds its slot"
    finally:
        stop.set()
        for conn in connections:
            conn.close()
        listener.close()


def test_one_teams_stalled_connection_tests_leave_the_other_teams_theirs(org, workspaces, api):
    """Threads of tests whose servers stall (https, S3, MLflow and ssh bound each read only) hold their slots:
    a team gets MAX_PROBES_PER_TEAM of the process's MAX_PROBES, and a further click is answered "try again
    later" without touching the source's status."""
    from accounts.tests.factories import TeamFactory
    from sources import fetch as fetch_package
    from sources.models import Source

    source = source_services.source_create(actor=org.lead, project=org.project, kind="git", name="held",
                                           config={"url": "git://127.0.0.1:9/repo.git"})
    Source.objects.filter(pk=source.pk).update(status_detail="untouched")
    held = [org.team.pk] * fetch_package.MAX_PROBES_PER_TEAM
    try:
        for team_id in held:
            assert fetch_package._take_probe_slot(team_id)
        busy = api(org.member).post(f"/api/v1/projects/{org.project.pk}/sources/{source.pk}/test/")
        assert busy.status_code == 200 and busy.json() == {
            "ok": False, "detail": "Earlier connection tests are still waiting for their servers; try again later."}
        assert Source.objects.get(pk=source.pk).status_detail == "untouched"
        others = [TeamFactory().pk for _ in range(fetch_package.MAX_PROBES)]
        taken = [team_id for team_id in others if fetch_package._take_probe_slot(team_id)]
        held += taken
        assert len(taken) == fetch_package.MAX_PROBES - fetch_package.MAX_PROBES_PER_TEAM  # the process's cap
    finally:
        for team_id in held:
            fetch_package._give_probe_slot(team_id)
    assert fetch_package._team_probes == {}
