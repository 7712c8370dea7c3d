"""What a source may say: one function per kind, returning `{field: [sentence]}` (empty: valid).

The page and the API both go through :func:`source_problems`, so bad input is a form error / 400
naming the field and nothing is saved.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .choices import CONFIG_FIELDS, CREDENTIAL_KEYS, SourceKind

REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
REGION = re.compile(r"^[a-z0-9-]{0,40}$")
MODEL_NAME = re.compile(r"^[^\x00-\x1f'\"\\]{1,200}$")
GIT_SCHEMES = ("https", "ssh", "git")


def _text(config: dict, name: str, limit: int = 1000) -> str:
    value = config.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(name)
    if len(value) > limit:
        raise OverflowError(name)
    return value.strip()


def has_control_characters(url: str) -> bool:
    """Spaces and control characters: urlsplit drops some of them (a leading \\x01, a tab inside the
    scheme) while other readers of the same string do not, so such a URL could mean one host here and
    another to the library that fetches it."""
    return any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url)


def _url_problem(url: str, schemes: tuple[str, ...], query: bool = False) -> str | None:
    if has_control_characters(url):
        return "The URL contains spaces or control characters."
    parts = urlsplit(url)
    if (parts.query or parts.fragment) and not query:
        return "Give the URL without a query string (a credential goes in the credential field, encrypted)."
    if parts.scheme.lower() not in schemes:
        return f"Use a URL starting with {' or '.join(s + '://' for s in schemes)}."
    if parts.scheme != "file" and not parts.hostname:
        return "The URL has no host."
    if parts.password or (parts.username and parts.scheme.lower() in ("https", "http")):
        return "Put credentials in the credential field (write-only, encrypted), not in the URL."
    return None


def _git(config: dict, actor) -> dict:
    problems: dict[str, list[str]] = {}
    url = _text(config, "url")
    schemes = GIT_SCHEMES + (("file",) if actor is not None and actor.is_org_admin else ())
    if not url:
        problems["url"] = ["Give the repository's URL."]
    elif url.lower().startswith("file:") and "file" not in schemes:
        problems["url"] = ["Only an administrator can add a file:// repository (it reads the worker's disk)."]
    elif why := _url_problem(url, schemes):
        problems["url"] = [why]
    ref = _text(config, "ref", 200)
    if ref and (not REF.match(ref) or ".." in ref or ref.endswith(("/", ".lock"))):
        problems["ref"] = ["Give a branch, a tag or a commit SHA (letters, digits, . _ / + -)."]
    subdir = _text(config, "subdir", 500)
    if subdir and (subdir.startswith("/") or ".." in subdir.split("/") or "\\" in subdir):
        problems["subdir"] = ["Give a sub-directory relative to the repository, without '..'."]
    return problems


def _s3(config: dict, actor) -> dict:
    problems: dict[str, list[str]] = {}
    endpoint = _text(config, "endpoint_url")
    if endpoint and (why := _url_problem(endpoint, ("https", "http"))):
        problems["endpoint_url"] = [why]
    if not BUCKET.match(_text(config, "bucket", 63)):
        problems["bucket"] = ["Give a bucket name (3–63 lower-case letters, digits, dots and hyphens)."]
    prefix = _text(config, "prefix", 500)
    if prefix.startswith("/") or ".." in prefix.split("/"):
        problems["prefix"] = ["Give a key prefix without a leading '/' or '..'."]
    if not REGION.match(_text(config, "region", 40)):
        problems["region"] = ["Give a region such as eu-west-1."]
    return problems


def _mlflow(config: dict, actor) -> dict:
    problems: dict[str, list[str]] = {}
    uri = _text(config, "tracking_uri")
    if not uri:
        problems["tracking_uri"] = ["Give the MLflow tracking server's URL."]
    elif why := _url_problem(uri, ("https", "http")):
        problems["tracking_uri"] = [why]
    models = config.get("models")
    if (not isinstance(models, list) or not models or len(models) > 50
            or not all(isinstance(m, str) and MODEL_NAME.match(m.strip()) for m in models)):
        problems["models"] = ["Give the registered model names to follow (1 to 50 names)."]
    alias, stage = _text(config, "alias", 80), _text(config, "stage", 40)
    if alias and stage:
        problems["alias"] = ["Give an alias or a stage, not both."]
    if alias and not REF.match(alias):
        problems["alias"] = ["An alias is letters, digits, . _ -."]
    if stage and stage.lower() not in ("staging", "production", "archived", "none"):
        problems["stage"] = ["A stage is Staging, Production, Archived or None."]
    return problems


def _path(config: dict, actor, team=None) -> dict:
    from checks.confinement import PathRefused, check_targets_validate, team_path_resolve

    problems: dict[str, list[str]] = {}
    path = _text(config, "path")
    lists = {k: config.get(k) or [] for k in ("dependency_files", "model_artifacts", "datasets")}
    if any(not isinstance(v, list) or not all(isinstance(i, str) for i in v) for v in lists.values()):
        return {"path": ["dependency_files, model_artifacts and datasets are lists of paths."]}
    if not path and not any(lists.values()):
        return {"path": ["Give a directory under the team's check root."]}
    if path and team is not None:
        try:
            team_path_resolve(team, path)
        except PathRefused as exc:
            problems["path"] = exc.messages
    if team is not None:
        try:
            check_targets_validate(team=team, targets=lists)
        except Exception as exc:  # noqa: BLE001 - a ValidationError naming check_targets
            problems.setdefault("path", []).extend(getattr(exc, "messages", [str(exc)]))
    return problems


def _endpoint(config: dict, actor) -> dict:
    url = _text(config, "url")
    if not url:
        return {"url": ["Give the serving endpoint's URL."]}
    why = _url_problem(url, ("https", "http"), query=True)
    return {"url": [why]} if why else {}


def credential_problem(kind: str, credential) -> str | None:
    if credential in (None, {}):
        return None
    shapes = CREDENTIAL_KEYS.get(kind, ())
    if not isinstance(credential, dict) or set(credential) not in [set(s) for s in shapes]:
        if not shapes:
            return f"A {kind} source takes no credential."
        return "Give " + " or ".join("{" + ", ".join(sorted(s)) + "}" for s in shapes) + "."
    if not all(isinstance(v, str) and v.strip() and len(v) <= 16_000 for v in credential.values()):
        return "Every credential value is a non-empty text (at most 16 000 characters)."
    return None


def source_problems(*, kind: str, config: dict, credential=None, actor=None, team=None) -> dict:
    """Every problem with a source's fields, by field name (empty when it may be saved)."""
    if kind not in SourceKind.values:
        return {"kind": [f"Choose one of {', '.join(SourceKind.values)}."]}
    if not isinstance(config, dict):
        return {"config": ["Give the source's fields."]}
    unknown = set(config) - set(CONFIG_FIELDS[kind])
    if unknown:
        return {sorted(unknown)[0]: [f"A {kind} source has no field {', '.join(sorted(unknown))}."]}
    try:
        if kind == SourceKind.PATH:
            problems = _path(config, actor, team)
        else:
            problems = {"git": _git, "s3": _s3, "mlflow": _mlflow, "endpoint": _endpoint}[kind](config, actor)
    except TypeError as exc:
        return {str(exc): ["Give a text."]}
    except OverflowError as exc:
        return {str(exc): ["This is too long."]}
    why = credential_problem(kind, credential)
    if why:
        problems["credential"] = [why]
    return problems
