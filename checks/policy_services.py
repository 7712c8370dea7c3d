"""Model-scanning policies: a team's reviewed scan allowances and a project's signing policy.

Only a security officer (or an administrator) reviews and adds an allowance: it widens what the
scanner accepts for every project of the team. A project's signing policy is set by the team's lead
or an officer. Every change is audited inside its transaction; PEM material is public (keys and
certificates) but is still kept out of the audit trail, which records fingerprints and names.
"""

from __future__ import annotations

import hashlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from assessments.models import Project
from audit.services import audit_record

from .choices import SignerKind
from .models import AllowedSigner, ScanAllowance, SigningPolicy
from .validators import allowance_problem, signer_problem


def _reviewer(actor) -> None:
    if not ScanAllowance.can_be_reviewed_by(actor):
        raise PermissionDenied("Only a security officer or an administrator reviews scan allowances.")


@transaction.atomic(durable=True)
def scan_allowance_create(*, actor, team, kind: str, name: str, reason: str) -> ScanAllowance:
    _reviewer(actor)
    name = (name or "").strip()
    problem = allowance_problem(kind, name, reason)
    if problem:
        raise ValidationError({"name": [problem]})
    if ScanAllowance.objects.filter(team=team, kind=kind, name=name).exists():
        raise ValidationError({"name": [f"{name} is already allowed for this team."]})
    allowance = ScanAllowance.objects.create(team=team, kind=kind, name=name, reason=reason.strip(),
                                             reviewed_by=actor, reviewed_at=timezone.now())
    audit_record(actor=actor, action="scan_allowance.create", obj=allowance,
                 after={"team": team.pk, "kind": kind, "name": name, "reason": allowance.reason})
    return allowance


@transaction.atomic(durable=True)
def scan_allowance_delete(*, actor, allowance: ScanAllowance) -> None:
    _reviewer(actor)
    before = {"team": allowance.team_id, "kind": allowance.kind, "name": allowance.name, "reason": allowance.reason}
    label, pk, text = allowance._meta.label_lower, allowance.pk, str(allowance)
    allowance.delete()
    audit_record(actor=actor, action="scan_allowance.delete", object_type=label, object_id=str(pk),
                 object_repr=text, before=before)


def allowances_for(team_id: int) -> dict[str, dict[str, str]]:
    """What the runners receive: {kind: {name: reason}} for one team."""
    out: dict[str, dict[str, str]] = {}
    for kind, name, reason in ScanAllowance.objects.filter(team_id=team_id).values_list("kind", "name", "reason"):
        out.setdefault(kind, {})[name] = reason
    return out


def _fingerprint(material: str) -> str:
    return "sha256:" + hashlib.sha256(material.strip().encode()).hexdigest()[:16]


@transaction.atomic(durable=True)
def signing_policy_set(*, actor, project: Project, required: bool, signers: list[dict]) -> SigningPolicy:
    """Replace the project's signing policy. ``signers``: [{name, kind, material, identities?}]."""
    if not SigningPolicy.can_be_set_by(actor, project):
        raise PermissionDenied("Only the team's lead or a security officer sets the signing policy.")
    errors, names = [], set()
    for index, signer in enumerate(signers):
        name = str(signer.get("name") or "").strip()
        kind = signer.get("kind")
        if not name or len(name) > 120 or name in names:
            errors.append(f"Signer {index + 1}: give each signer a distinct name of at most 120 characters.")
        names.add(name)
        if kind not in SignerKind.values:
            errors.append(f"Signer {index + 1}: kind must be key or certificate.")
            continue
        problem = signer_problem(kind, str(signer.get("material") or ""))
        if problem:
            errors.append(f"Signer {index + 1}: {problem}")
        identities = signer.get("identities") or []
        if not (isinstance(identities, list) and all(isinstance(i, str) and 0 < len(i) <= 320 for i in identities)):
            errors.append(f"Signer {index + 1}: identities must be a list of e-mail addresses, URIs or names.")
    if required and not signers:
        errors.append("A policy that requires signatures needs at least one allowed signer.")
    if errors:
        raise ValidationError({"signers": errors})
    policy, _ = SigningPolicy.objects.select_for_update().get_or_create(project=project)
    before = _describe(policy)
    policy.required = bool(required)
    policy.updated_by = actor
    policy.save()
    policy.signers.all().delete()
    AllowedSigner.objects.bulk_create([
        AllowedSigner(policy=policy, name=str(s["name"]).strip(), kind=s["kind"], material=str(s["material"]).strip(),
                      identities=list(s.get("identities") or [])) for s in signers])
    audit_record(actor=actor, action="signing_policy.set", obj=project, before=before, after=_describe(policy))
    return policy


def _describe(policy: SigningPolicy) -> dict:
    return {"required": policy.required,
            "signers": [{"name": s.name, "kind": s.kind, "fingerprint": _fingerprint(s.material),
                         "identities": s.identities} for s in policy.signers.all()] if policy.pk else []}


def signing_for(project_id: int):
    """What model-integrity receives: a runner SigningPolicy, or None when the project has none."""
    from .runners.signing import Signer
    from .runners.signing import SigningPolicy as RunnerPolicy

    policy = SigningPolicy.objects.filter(project_id=project_id).prefetch_related("signers").first()
    if policy is None:
        return None
    return RunnerPolicy(required=policy.required, signers=tuple(
        Signer(s.name, s.kind, s.material, tuple(s.identities or ())) for s in policy.signers.all()))
