"""Writes on sources: create, update, remove, test, and the `check_targets` compatibility.

Every write checks the actor (the team's lead, a security officer or an administrator), validates
with :func:`sources.validators.source_problems`, seals the credential and records an audit event
that says a credential was set or changed, never what it is.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record

from .choices import CONFIG_FIELDS, SourceKind, SourceStatus
from .crypto import seal
from .models import Source
from .validators import source_problems

CHECK_TARGET_FILES = ("dependency_files", "model_artifacts", "datasets")


def _clean_config(kind: str, config: dict) -> dict:
    cleaned = {}
    for key in CONFIG_FIELDS[kind]:
        value = config.get(key)
        if isinstance(value, str):
            value = value.strip()
        elif isinstance(value, list):
            value = [v.strip() for v in value if isinstance(v, str) and v.strip()]
        if value not in (None, "", []):
            cleaned[key] = value
    return cleaned


def _audit_view(source: Source) -> dict:
    return {"kind": source.kind, "name": source.name, "config": source.config, "has_credential": source.has_credential}


def _require_editor(actor, project) -> None:
    if actor is not None and not project.can_be_edited_by(actor):
        raise PermissionDenied("Only the team's lead, a security officer or an administrator can change sources.")


@transaction.atomic(durable=True)
def source_create(*, actor, project, kind: str, name: str, config: dict, credential: dict | None = None,
                  from_check_targets: bool = False) -> Source:
    """Add a source to `project` (ValidationError naming the field when anything is wrong)."""
    _require_editor(actor, project)
    if project.archived_at:
        raise ValidationError("An archived project takes no new sources.")
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError({"name": ["Give the source a name (at most 80 characters)."]})
    problems = source_problems(kind=kind, config=config, credential=credential, actor=actor, team=project.team)
    if problems:
        raise ValidationError(problems)
    source = Source(project=project, kind=kind, name=name, config=_clean_config(kind, config),
                    credential_encrypted=seal(credential), from_check_targets=from_check_targets)
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError:
        raise ValidationError({"name": ["This project already has a source of that name."]}) from None
    audit_record(actor=actor, action="source.create", obj=source, after={**_audit_view(source), "project": project.pk})
    return source


@transaction.atomic(durable=True)
def source_update(*, actor, source: Source, name: str | None = None, config: dict | None = None,
                  credential: dict | None = None, clear_credential: bool = False) -> Source:
    """Change a source; a credential not given stays as it is (write-only), `clear_credential` removes it.

    Changing where a source points never lifts a failing verdict by itself: only a passing run
    over the source does (docs/checks.md, "Sources and assets").
    """
    _require_editor(actor, source.project)
    before = _audit_view(source)
    merged = {**source.config, **(config or {})} if config is not None else source.config
    problems = source_problems(kind=source.kind, config=merged, credential=credential, actor=actor,
                               team=source.project.team)
    if name is not None and (not name.strip() or len(name.strip()) > 80):
        problems["name"] = ["Give the source a name (at most 80 characters)."]
    if problems:
        raise ValidationError(problems)
    if name is not None:
        source.name = name.strip()
    source.config = _clean_config(source.kind, merged)
    credential_changed = bool(credential) or (clear_credential and source.has_credential)
    if credential:
        source.credential_encrypted = seal(credential)
    elif clear_credential:
        source.credential_encrypted = ""
    if source.config != before["config"] or credential_changed:
        source.status, source.status_detail = SourceStatus.NEVER, ""
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError:
        raise ValidationError({"name": ["This project already has a source of that name."]}) from None
    after = _audit_view(source)
    changed_before = {k: v for k, v in before.items() if after[k] != v}
    changed_after = {k: after[k] for k in changed_before}
    if credential_changed:
        changed_after["credential"] = "changed" if credential else "removed"
    if changed_after:
        audit_record(actor=actor, action="source.update", obj=source, before=changed_before, after=changed_after)
    if source.from_check_targets:
        _write_back(source.project)
    return source


@transaction.atomic(durable=True)
def source_delete(*, actor, source: Source) -> None:
    """Remove a source. Its runs stay (they name its id and revision); verdicts are not lifted by it."""
    _require_editor(actor, source.project)
    audit_record(actor=actor, action="source.delete", obj=source, before=_audit_view(source))
    project, mirrored = source.project, source.from_check_targets
    source.delete()
    if mirrored:
        _write_back(project)


def source_record_status(source: Source, ok: bool, detail: str = "", revision: dict | None = None,
                         synced: bool = False) -> None:
    """What the last use of a source found (in words), for the project page."""
    fields = {"status": SourceStatus.OK if ok else SourceStatus.ERROR, "status_detail": detail[:500]}
    if revision is not None:
        fields["last_revision"] = revision
    if synced:
        fields["last_synced_at"] = timezone.now()
    Source.objects.filter(pk=source.pk).update(**fields)


def source_test(*, actor, source: Source) -> dict:
    """Try the connection now (within 10 s): `{"ok", "detail"}` in words, never the credential."""
    from .fetch import FetchError, ProbeBusy, probe

    if actor is not None and not source.project.can_run_checks(actor):
        raise PermissionDenied("Only the team, a security officer or an administrator can test this source.")
    try:
        detail = probe(source, timeout_s=10)
    except ProbeBusy as exc:  # nothing was tried: the source's last status stays what it was
        return {"ok": False, "detail": str(exc)}
    except FetchError as exc:
        source_record_status(source, False, str(exc))
        return {"ok": False, "detail": str(exc)}
    source_record_status(source, True, detail)
    return {"ok": True, "detail": detail}


# --- check_targets, the older way to say the same ----------------------------------------------

def targets_to_configs(targets: dict) -> list[tuple[str, str, dict]]:
    """(kind, name, config) of the `path` and `endpoint` sources a `check_targets` value describes."""
    targets = targets or {}
    made = []
    path = {"path": targets.get("source_path") or ""}
    path.update({k: list(targets.get(k) or []) for k in CHECK_TARGET_FILES})
    if any(path.values()):
        made.append((SourceKind.PATH, "check targets", {k: v for k, v in path.items() if v}))
    if targets.get("endpoint_url"):
        made.append((SourceKind.ENDPOINT, "endpoint", {"url": targets["endpoint_url"]}))
    return made


def mirror_check_targets(project) -> None:
    """Make the project's `check_targets`-made sources say what the field says (after a project write)."""
    wanted = {(kind, name): config for kind, name, config in targets_to_configs(project.check_targets)}
    existing = {(s.kind, s.name): s for s in project.sources.filter(from_check_targets=True)}
    for key, source in existing.items():
        if key not in wanted:
            source.delete()
    for (kind, name), config in wanted.items():
        source = existing.get((kind, name))
        if source is None:
            if not project.sources.filter(name=name).exists():
                Source.objects.create(project=project, kind=kind, name=name, config=config, from_check_targets=True)
        elif source.config != config:
            source.config, source.status, source.status_detail = config, SourceStatus.NEVER, ""
            source.save(update_fields=["config", "status", "status_detail", "updated_at"])


def _write_back(project) -> None:
    """A `check_targets`-made source changed through the sources API: the field follows."""
    from assessments.models import Project

    targets = targets_from_sources(project)
    Project.objects.filter(pk=project.pk).update(check_targets=targets)
    project.check_targets = targets


def targets_from_sources(project) -> dict:
    """`check_targets` as the project's `check_targets`-made sources say."""
    targets: dict = {}
    for source in project.sources.all():
        if not source.from_check_targets:
            continue
        if source.kind == SourceKind.PATH:
            if source.config.get("path"):
                targets["source_path"] = source.config["path"]
            for key in CHECK_TARGET_FILES:
                if source.config.get(key):
                    targets[key] = source.config[key]
        elif source.kind == SourceKind.ENDPOINT:
            targets["endpoint_url"] = source.config.get("url", "")
    return targets
