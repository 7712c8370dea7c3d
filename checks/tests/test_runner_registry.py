"""Registry, run_check contract and path confinement shared by all checks."""

from __future__ import annotations

import re

from checks.runners import REGISTRY, run_check, scrub
from checks.runners.base import BaseCheck, CheckContext, CheckResult, CheckTargets, Finding
from checks.runners.paths import PathPolicy

from .conftest import make_ctx

KEYS = {"dependency-vulnerabilities", "model-serialization", "model-integrity", "endpoint-transport",
        "endpoint-authentication", "source-secrets", "source-static-analysis", "dataset-sensitive-data"}
CRON = re.compile(r"^\S+ \S+ \S+ \S+ \S+$")


def test_registry_keys_and_metadata():
    assert set(REGISTRY) == KEYS  # evidence-freshness is added by the Django layer
    for key, cls in REGISTRY.items():
        assert cls.key == key and issubclass(cls, BaseCheck)
        assert cls.practices and all(re.fullmatch(r"MLS-\d\d", p) for p in cls.practices)
        assert CRON.match(cls.default_schedule) and 0 < cls.time_limit_s <= 900
        assert cls.title and cls.description.count(".") >= 2
    assert REGISTRY["model-serialization"].heavy and REGISTRY["model-integrity"].heavy
    assert not REGISTRY["endpoint-transport"].heavy


def test_every_check_is_skipped_without_targets(tmp_path):
    for key in KEYS:
        assert run_check(key, make_ctx(tmp_path)).status == "skipped"


class Exploding(BaseCheck):
    key = "exploding"
    title = "boom"
    practices = ("MLS-01",)
    default_schedule = "0 0 * * *"
    time_limit_s = 5
    description = "Explodes. Always. On purpose."

    def applies(self, targets: CheckTargets) -> bool:
        return True

    def run(self, ctx: CheckContext) -> CheckResult:
        raise RuntimeError("db at postgres://admin:hunter2@db.internal/x?sslkey=abc failed")  # pragma: allowlist secret


class Liar(Exploding):
    key = "liar"

    def run(self, ctx: CheckContext) -> CheckResult:
        return CheckResult("skipped", "I ran but claim skipped")


def test_run_check_turns_crashes_into_error(tmp_path, monkeypatch):
    monkeypatch.setitem(REGISTRY, "exploding", Exploding)
    monkeypatch.setitem(REGISTRY, "liar", Liar)
    result = run_check("exploding", make_ctx(tmp_path))
    assert result.status == "error"
    assert result.summary.startswith("check crashed: RuntimeError")
    assert "hunter2" not in result.summary and "sslkey" not in result.summary
    assert run_check("liar", make_ctx(tmp_path)).status == "error"
    assert run_check("no-such-check", make_ctx(tmp_path)).status == "error"
    assert run_check("exploding", make_ctx(tmp_path), registry={"exploding": Exploding}).status == "error"
    assert run_check("source-secrets", make_ctx(tmp_path), registry={}).summary.startswith("unknown check")


def test_crash_inside_a_real_check_is_error(tmp_path, monkeypatch):
    import checks.runners.model_integrity as module

    monkeypatch.setattr(module, "sha256_file", lambda path: 1 / 0)
    (tmp_path / "m.pt").write_bytes(b"x")
    result = run_check("model-integrity", make_ctx(tmp_path, model_artifacts=["m.pt"]))
    assert result.status == "error" and "ZeroDivisionError" in result.summary


def test_scrub():
    text = scrub("GET https://u:p@h.example/a?token=zzz failed; password=swordfish "
                 "key ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8")  # pragma: allowlist secret
    assert "u:p" not in text and "zzz" not in text and "swordfish" not in text and "A1b2C3" not in text


def test_finding_as_dict():
    assert Finding("low", "t").as_dict() == {"severity": "low", "title": "t", "detail": "", "ref": ""}


def test_path_policy_confinement(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("a")
    (root / "escape").symlink_to(tmp_path)
    policy = PathPolicy([str(root)], str(root))
    assert policy.is_allowed(str(root / "sub" / "a.txt"))
    assert not policy.is_allowed(str(root / "escape" / "x"))
    assert not policy.is_allowed(str(root / ".." / "root2"))
    assert not policy.is_allowed("/etc/passwd")
    expansion = policy.expand(["sub/*.txt", "../*", "/etc/pass*", "escape/*", "sub"])
    assert [f.display for f in expansion.files] == ["sub/a.txt"]
    assert len(expansion.findings) >= 3 and all("outside" in f.title for f in expansion.findings)
    assert PathPolicy([], "").expand(["/etc/hostname"]).findings  # no roots: nothing is allowed


def test_a_sandboxed_child_imports_no_runner_it_does_not_run():
    """Each sandboxed check starts a fresh interpreter that imports `checks.runners.sandbox`: the package
    must not import every runner and its parsers on the way (they were ~90 ms of each child's start)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import checks.runners.sandbox; "
             "print(' '.join(sorted(m for m in sys.modules if m.startswith('checks.runners.'))))")
    done = subprocess.run([sys.executable, "-I", "-c", probe, str(root)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(done.stdout.split())
    from checks.runners import RUNNERS

    assert not {f"checks.runners.{module}" for module, _ in RUNNERS} & loaded, loaded


def test_the_registry_is_built_once_and_names_every_runner_by_its_key():
    import checks.runners as runners

    assert runners.build_registry() is runners.REGISTRY is REGISTRY
    assert sorted(REGISTRY) == sorted(cls.key for cls in REGISTRY.values())
    assert len(REGISTRY) == len(runners.RUNNERS)
