"""Shared evidence: one team's (or the organisation's) document counting for many projects (docs/evidence.md).

A link says "this document is evidence for that project's practice". It counts in the scorecard exactly
like the project's own evidence (scoring/engine.py), its expiry makes every linked project stale, and
each link and unlink is an audit event on the document, so its trail lists every project it served.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from assessments.models import Project
from audit.services import audit_record
from controls.models import Practice

from .models import Evidence, EvidenceKind, EvidenceLink


@transaction.atomic(durable=True)
def evidence_link(*, actor, evidence: Evidence, project: Project, practice: Practice) -> EvidenceLink:
    """Make shared `evidence` count for `project` × `practice`; refusals change nothing."""
    evidence = Evidence.objects.select_for_update().get(pk=evidence.pk)
    if evidence.project_id is not None or evidence.kind == EvidenceKind.CHECK:
        raise ValidationError({"evidence": ["Only shared evidence (a team's or the organisation's) is linked to projects."]})
    if not evidence.can_be_linked_by(actor, project):
        raise PermissionDenied("Only the project's team links its team's or the organisation's evidence to it.")
    if evidence.superseded_at is not None:
        raise ValidationError({"evidence": ["Link the current version of this document."]})
    if project.archived_at is not None:
        raise ValidationError({"project": ["An archived project takes no new evidence."]})
    if not practice.is_active:
        raise ValidationError({"practice": ["This practice is no longer in the catalogue."]})
    try:
        with transaction.atomic():
            link = EvidenceLink.objects.create(evidence=evidence, project=project, practice=practice, linked_by=actor,
                                               linked_at=timezone.now())
    except IntegrityError:
        raise ValidationError({"project": [f"Already linked to {project} for {practice.code}."]}) from None
    audit_record(actor=actor, action="evidence.link", obj=evidence,
                 after={"link": link.pk, "project": project.pk, "practice": practice.code})
    return link


@transaction.atomic(durable=True)
def evidence_unlink(*, actor, link: EvidenceLink) -> EvidenceLink:
    link = EvidenceLink.objects.select_for_update().select_related("evidence", "project", "practice").get(pk=link.pk)
    if not link.evidence.can_be_linked_by(actor, link.project):
        raise PermissionDenied("Only the project's team removes the links to its projects.")
    if link.unlinked_at is None:
        link.unlinked_at = timezone.now()
        link.save(update_fields=["unlinked_at"])
        audit_record(actor=actor, action="evidence.unlink", obj=link.evidence,
                     after={"link": link.pk, "project": link.project_id, "practice": link.practice.code})
    return link


def carry_links(*, actor, old: Evidence, new: Evidence) -> None:
    """A new version takes over the open links of the one it supersedes, at the same instant."""
    links = list(EvidenceLink.objects.filter(evidence=old, unlinked_at__isnull=True))
    if not links:
        return
    now = new.created_at or timezone.now()
    EvidenceLink.objects.filter(pk__in=[link.pk for link in links]).update(unlinked_at=now)
    EvidenceLink.objects.bulk_create([
        EvidenceLink(evidence=new, project_id=link.project_id, practice_id=link.practice_id, linked_by=actor,
                     linked_at=now) for link in links])
    from .signals import links_carried  # update() and bulk_create() send no model signal: scoring refreshes

    links_carried.send(sender=EvidenceLink, project_ids=sorted({link.project_id for link in links}))
    audit_record(actor=actor, action="evidence.links_carried", obj=new,
                 after={"from": old.pk, "links": [[link.project_id, link.practice_id] for link in links]})
