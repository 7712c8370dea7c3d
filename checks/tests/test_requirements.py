"""The requirements parser: every pip syntax the product promises, plus lock files."""

from __future__ import annotations

import json
from pathlib import Path

from checks.runners.lockfiles import parse_dependency_file
from checks.runners.requirements import logical_lines, parse_requirement_line, parse_requirements

MAIN = """\
# full-line comment
--index-url https://user:s3cr3t@pypi.internal.example/simple # pragma: allowlist secret
-i https://pypi.org/simple
--extra-index-url https://mirror.example/simple
--find-links ./wheels
--trusted-host mirror.example
-c constraints.txt
--require-hashes

Django==5.2.19  # trailing comment
requests[socks,security]==2.32.0 ; python_version < "3.12"
Py_YAML==5.3.1
zope.interface===6.0
numpy==1.26.4 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
flask>=2.0
pandas
torch==2.*
-e git+https://github.example/org/repo.git#egg=thing
mylib @ https://user:tok@files.example/mylib-1.0.tar.gz # pragma: allowlist secret
./local/path
-r sub/more.txt
--requirement=sub/missing.txt
"""

MORE = """\
-r ../main.txt
Pillow==9.0.0
"""


def write(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    main = tmp_path / "main.txt"
    main.write_text(MAIN)
    (tmp_path / "sub" / "more.txt").write_text(MORE)
    return main


def test_full_syntax(tmp_path):
    result = parse_requirements(str(write(tmp_path)))
    pins = {r.normalized: r for r in result.requirements if r.version}
    assert {k: v.version for k, v in pins.items()} == {
        "django": "5.2.19", "requests": "2.32.0", "py-yaml": "5.3.1", "zope-interface": "6.0",
        "numpy": "1.26.4", "pillow": "9.0.0",
    }
    assert pins["requests"].extras == ("security", "socks")
    assert 'python_version < "3.12"' in pins["requests"].marker
    assert pins["numpy"].hashes == ("sha256:aaaa", "sha256:bbbb")
    assert pins["numpy"].line == 14  # continuation lines keep the first line number
    assert pins["pillow"].source.endswith("more.txt")

    kinds = [(i.kind, i.message) for i in result.issues]
    unpinned = {m.split(" ")[0] for k, m in kinds if k == "unpinned"}
    assert unpinned == {"flask", "pandas", "torch"}
    unverifiable = [m for k, m in kinds if k == "unverifiable"]
    assert len(unverifiable) == 3  # -e git+…, name @ url, ./local/path
    assert not any("tok" in m or "s3cr3t" in m for _, m in kinds)  # credentials never echoed
    assert any(k == "cycle" for k, _ in kinds)  # more.txt includes main.txt again
    assert any(k == "error" and "missing.txt" in m for k, m in kinds)
    assert not any("index" in m or "constraints" in m for _, m in kinds)  # option lines are ignored


def test_include_confinement(tmp_path):
    main = tmp_path / "req.txt"
    main.write_text("-r /etc/passwd\nsix==1.16.0\n")
    result = parse_requirements(str(main), is_allowed=lambda p: str(p).startswith(str(tmp_path)))
    assert [r.normalized for r in result.requirements] == ["six"]
    assert any(i.kind == "error" and "outside" in i.message for i in result.issues)


def test_remote_include_not_fetched(tmp_path):
    main = tmp_path / "req.txt"
    main.write_text("-r https://example.invalid/req.txt\n")
    result = parse_requirements(str(main))
    assert result.issues[0].kind == "error" and "not fetched" in result.issues[0].message


def test_logical_lines_and_url_fragments():
    lines = logical_lines("a==1 \\\n  --hash=sha256:x\n# c\n\nb @ https://h/p.whl#sha256=abc\n")
    assert [(n, " ".join(t.split())) for n, t in lines] == [(1, "a==1 --hash=sha256:x"),
                                                           (5, "b @ https://h/p.whl#sha256=abc")]


def test_single_line_forms():
    assert parse_requirement_line("Foo_Bar==1.0").normalized == "foo-bar"
    assert parse_requirement_line("foo==1.0,>=0.9").version == "1.0"
    assert parse_requirement_line("foo~=1.0").version is None
    assert parse_requirement_line("foo!!").kind == "error"


def test_poetry_uv_and_pipfile_locks(tmp_path):
    poetry = tmp_path / "poetry.lock"
    poetry.write_text('[[package]]\nname = "Jinja2"\nversion = "2.10"\n\n'
                      '[[package]]\nname = "mything"\nversion = "0.1"\n[package.source]\ntype = "git"\n'
                      'url = "https://user:pw@git.example/x.git"\n')  # pragma: allowlist secret
    result = parse_dependency_file(str(poetry))
    assert [(r.normalized, r.version) for r in result.requirements] == [("jinja2", "2.10")]
    assert result.issues[0].kind == "unverifiable" and "pw" not in result.issues[0].message

    uv = tmp_path / "uv.lock"
    uv.write_text('version = 1\n[[package]]\nname = "idna"\nversion = "3.6"\n'
                  'source = { registry = "https://pypi.org/simple" }\n'
                  '[[package]]\nname = "proj"\nversion = "0.0.0"\nsource = { editable = "." }\n')
    result = parse_dependency_file(str(uv))
    assert [(r.normalized, r.version) for r in result.requirements] == [("idna", "3.6")]

    pipfile = tmp_path / "Pipfile.lock"
    pipfile.write_text(json.dumps({"default": {"urllib3": {"version": "==1.26.0"}, "x": {"version": "*"}},
                                   "develop": {"pytest": {"version": "==8.0.0"}}}))
    result = parse_dependency_file(str(pipfile))
    assert sorted((r.normalized, r.version) for r in result.requirements) == [("pytest", "8.0.0"),
                                                                             ("urllib3", "1.26.0")]
    assert [i.kind for i in result.issues] == ["unpinned"]

    broken = tmp_path / "poetry.lock"
    broken.write_text("[[package]\n")
    assert parse_dependency_file(str(broken)).issues[0].kind == "error"
