"""Where a team's checks may read: its own directory under the check roots, never the portal's files.

One list of roots used to serve every project, so a lead could point `model_artifacts` at
`<root>/**` and read every team's files. Now each team has its own directories:

* `<root>/<team-slug>/` under every root of `MLSEC_CHECK_ROOTS`, and
* any root an administrator assigns to the team (:class:`checks.models.TeamCheckRoot`),

and nothing else. Two functions are the whole interface, for the project check targets of today
and the `path` sources of tomorrow:

* :func:`team_check_roots` — the directories a team's checks may read;
* :func:`team_path_resolve` — resolve a path (symbolic links followed) and refuse it, with a
  sentence a lead understands, unless it lies inside one of them.

Targets are validated when they are saved (:func:`check_targets_validate`, called by
`Project.clean`, so the page and the API answer with a form error / 400) and again when a run
reads them (the runners' `PathPolicy` gets these roots and :func:`protected_paths`).

The portal's own files (:func:`protected_paths`: `var/`, the media root, key files, the SQLite
database, `secrets/`, the broker's folders, the worker's credentials, system directories) are
never readable, whatever the configuration: a root that contains one of them, lies inside one, or
contains the project folder is not used at all (a Django system check names it), and a path that
resolves into one is refused even inside a team's directory.
"""

from __future__ import annotations

import glob
import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from .runners.paths import is_within, static_prefix

log = logging.getLogger(__name__)
_warned: set[str] = set()  # each unusable root is logged once per process (the system check names it too)

SYSTEM_PROTECTED = ("/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/run/secrets", "/var/run/secrets")
HOME_PROTECTED = (".ssh", ".aws", ".azure", ".config/gcloud", ".kube", ".docker", ".gnupg", ".netrc", ".pgpass",
                  ".git-credentials")
PATH_FIELDS = (("source_path", False), ("dependency_files", False), ("model_artifacts", True), ("datasets", True))


class PathRefused(ValidationError):
    """A path a team's checks may not read; the message says why and where its files belong."""


def _real(path) -> str:
    return os.path.realpath(os.path.expanduser(str(path)))


def protected_paths() -> list[str]:
    """The portal's own files and the worker's credentials: never read by a check."""
    base = Path(settings.BASE_DIR)
    paths: list[str] = [str(settings.VAR_DIR), str(settings.MEDIA_ROOT), str(base / "secrets"), str(base / ".env"),
                        str(base / ".git"), *SYSTEM_PROTECTED]
    if getattr(settings, "STATIC_ROOT", None):
        paths.append(str(settings.STATIC_ROOT))
    for database in settings.DATABASES.values():
        if "sqlite" in database.get("ENGINE", "") and str(database.get("NAME", "")) not in ("", ":memory:"):
            name = str(database["NAME"])
            paths += [name, f"{name}-wal", f"{name}-shm", f"{name}-journal"]
            test_name = (database.get("TEST") or {}).get("NAME")
            if test_name:
                paths += [str(test_name), f"{test_name}-wal", f"{test_name}-shm", f"{test_name}-journal"]
    signing = str(getattr(settings, "MLSEC_SIGNING_KEY", "") or "")
    if signing and not signing.lstrip().startswith("-----") and len(signing) < 4096:
        paths.append(signing)
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get(key)
        if folder:
            paths.append(str(folder))
    home = os.path.expanduser("~")
    if home and home != "~":
        paths += [os.path.join(home, name) for name in HOME_PROTECTED]
    paths += list(getattr(settings, "MLSEC_CHECK_PROTECTED_PATHS", []) or [])
    return sorted({_real(p) for p in paths if p})


def root_refusal(root: str, protected: list[str] | None = None) -> str | None:
    """Why a directory cannot serve as a check root (None: it can)."""
    real = _real(root)
    if real == os.sep:
        return "the file-system root holds the portal's own files"
    project = _real(settings.BASE_DIR)
    if is_within(project, real):
        return "it contains the portal's own folder"
    for path in protected if protected is not None else protected_paths():
        if is_within(real, path):
            return f"it lies inside {path}, which holds the portal's own files"
        if is_within(path, real):
            return f"it contains {path}, which holds the portal's own files"
    return None


def configured_roots() -> list[str]:
    """`MLSEC_CHECK_ROOTS` that may be used (resolved); refused ones are logged and dropped."""
    protected = protected_paths()
    usable = []
    for root in settings.MLSEC_CHECK_ROOTS:
        why = root_refusal(root, protected)
        if why:
            if root not in _warned:
                _warned.add(root)
                log.warning("check root %s is not used: %s", root, why)
        else:
            usable.append(_real(root))
    return usable


def assigned_root_refusal(team, path: str, exclude_pk: int | None = None) -> str | None:
    """Why `path` cannot be assigned to `team` as a check root (None: it can)."""
    from .models import TeamCheckRoot

    if not isinstance(path, str) or not os.path.isabs(path) or ".." in path.split("/"):
        return "give an absolute path without '..'"
    why = root_refusal(path)
    if why:
        return why
    real = _real(path)
    for root in configured_roots():
        if is_within(real, os.path.join(root, team.slug)):
            continue  # inside the team's own directory: redundant but harmless
        if is_within(real, root) or is_within(root, real):
            return (f"it overlaps the shared check root {root}, where every team has its own directory; assign "
                    "a directory outside it")
    others = TeamCheckRoot.objects.exclude(team=team).exclude(pk=exclude_pk).select_related("team")
    for other in others:
        other_real = _real(other.path)
        if is_within(real, other_real) or is_within(other_real, real):
            return f"it overlaps {other.path}, assigned to the team {other.team.name}"
    return None


def team_check_roots(team) -> list[str]:
    """The directories `team`'s checks may read (resolved): `<root>/<slug>` per usable root, then any
    root an administrator assigned to the team that is still valid."""
    from .models import TeamCheckRoot

    protected = protected_paths()
    roots = []
    for root in configured_roots():
        directory = _real(os.path.join(root, team.slug))
        if is_within(directory, root) and root_refusal(directory, protected) is None:
            roots.append(directory)
    for assigned in TeamCheckRoot.objects.filter(team=team).order_by("pk"):
        why = assigned_root_refusal(team, assigned.path, exclude_pk=assigned.pk)
        if why:
            log.warning("check root %s of team %s is not used: %s", assigned.path, team.slug, why)
        else:
            roots.append(_real(assigned.path))
    return roots


def _where(team, roots: list[str]) -> str:
    if not roots:
        return (f"no check directory exists for the team {team.name}: an administrator sets MLSEC_CHECK_ROOTS "
                f"(the team's files then go under <root>/{team.slug}/) or assigns the team a root")
    return f"the check directory of the team {team.name} ({', '.join(r + '/' for r in roots)})"


def team_path_resolve(team, path: str, *, pattern: bool = False, roots: list[str] | None = None) -> str:
    """Resolve `path` (symbolic links followed, as far as it exists) and return it when `team`'s checks
    may read it; raise :class:`PathRefused` otherwise. With `pattern`, `path` may be a glob: its
    directory part before the first wildcard is what must be inside the team's directory."""
    if not isinstance(path, str) or not path.strip():
        raise PathRefused("Give a path.")
    if not os.path.isabs(path):
        raise PathRefused(f"'{path}' must be an absolute path on the check workers.")
    if ".." in path.split("/"):
        raise PathRefused(f"'{path}' must not contain '..'.")
    roots = team_check_roots(team) if roots is None else roots
    probe = static_prefix(os.path.normpath(path)) if pattern and glob.has_magic(path) else os.path.normpath(path)
    real = _real(probe)
    if any(is_within(real, p) for p in protected_paths()):
        raise PathRefused(f"'{path}' is part of the portal's own files, which checks never read.")
    if not any(is_within(real, root) for root in roots):
        resolved = f" (it resolves to {real})" if real != probe else ""
        raise PathRefused(f"'{path}'{resolved} is outside {_where(team, roots)}. Put the project's files there, "
                          "or ask an administrator to assign the team another root.")
    return real


def check_targets_validate(*, team, targets) -> None:
    """Every file target of a project inside its team's directories; ValidationError on `check_targets`."""
    if not isinstance(targets, dict):
        return  # the field validator reports the shape
    roots = None
    problems = []
    for field, pattern in PATH_FIELDS:
        value = targets.get(field)
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for item in values:
            if not isinstance(item, str) or not item.strip():
                continue
            roots = team_check_roots(team) if roots is None else roots
            try:
                team_path_resolve(team, item.strip(), pattern=pattern, roots=roots)
            except PathRefused as exc:
                problems.append(f"{field}: {exc.messages[0]}")
    if problems:
        raise ValidationError({"check_targets": problems})
