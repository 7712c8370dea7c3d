"""Writes on projects, assessments, answers and risk acceptances: permission, rule, audit event.

Every function takes the acting user, refuses with `PermissionDenied` (403) or `ValidationError`
(400) before changing anything, and records an audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Team
from audit.services import audit_record, diff, snapshot
from controls.models import CatalogRelease, Practice
from notifications.services import notify

from . import signals
from .choices import EDITABLE_STATUSES, AcceptanceStatus, AssessmentStatus
from .models import ANSWER_FIELDS, Answer, Assessment, Project, RiskAcceptance

PROJECT_FIELDS = (
    "name", "slug", "description", "risk_tier", "lifecycle", "data_classification", "check_targets", "check_opt_outs",
    "ai_act_role", "ai_act_risk_class",
)
ACCEPTANCE_MAX_DAYS = 366


# --- projects -----------------------------------------------------------------------------------

@transaction.atomic(durable=True)
def project_create(*, actor, team: Team, **fields) -> Project:
    """A new project in `team`; its lead, an officer or an administrator may create it."""
    if not team.can_add_project(actor):
        raise PermissionDenied("Only the team's lead, a security officer or an administrator can add projects.")
    project = Project(team=team, **{k: v for k, v in fields.items() if k in PROJECT_FIELDS})
    project.full_clean()
    project.save()
    audit_record(actor=actor, action="project.create", obj=project, after=snapshot(project, ("team", *PROJECT_FIELDS)))
    if project.check_targets:
        signals.check_targets_changed.send(sender=Project, project=project)  # sources mirrors them
    return project


@transaction.atomic(durable=True)
def project_update(*, actor, project: Project, **fields) -> Project:
    if not project.can_be_edited_by(actor):
        raise PermissionDenied("Only the team's lead, a security officer or an administrator can edit this project.")
    if project.archived_at:
        raise ValidationError("An archived project cannot be changed.")
    before = snapshot(project, PROJECT_FIELDS)
    for name, value in fields.items():
        if name in PROJECT_FIELDS:
            setattr(project, name, value)
    project.full_clean()
    project.save()
    old, new = diff(before, snapshot(project, PROJECT_FIELDS))
    if new:
        audit_record(actor=actor, action="project.update", obj=project, before=old, after=new)
    if "check_targets" in new:
        signals.check_targets_changed.send(sender=Project, project=project)  # sources mirrors them
    return project


@transaction.atomic(durable=True)
def project_archive(*, actor, project: Project) -> Project:
    """Archive rather than delete: approved assessments and evidence stay for the auditors."""
    if not project.can_be_archived_by(actor):
        raise PermissionDenied("Only a security officer or an administrator can archive a project.")
    if project.archived_at is None:
        project.archived_at = timezone.now()
        project.save(update_fields=["archived_at", "updated_at"])
        audit_record(actor=actor, action="project.archive", obj=project, after={"archived_at": project.archived_at})
    return project


# --- assessments --------------------------------------------------------------------------------

@transaction.atomic(durable=True)
def assessment_start(*, actor, project: Project, cycle: str, copy_previous: bool = True) -> Assessment:
    """Open a cycle's assessment with one answer per active practice.

    With `copy_previous`, answers start from the last approved assessment so a team only changes
    what moved since; every answer still goes through review again.
    """
    if not project.can_start_assessment(actor):
        raise PermissionDenied("Only members of the project's team can start its assessment.")
    if project.archived_at:
        raise ValidationError("An archived project cannot be assessed.")
    assessment = Assessment(
        project=project, cycle=cycle, catalog_version=CatalogRelease.current_version(), created_by=actor
    )
    assessment.full_clean(exclude=["created_by"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            assessment.save()
    except IntegrityError:
        raise ValidationError({"cycle": [f"{project} already has an assessment for {cycle}."]}) from None
    previous = {}
    if copy_previous:
        last = project.assessments.current_approved().first()
        if last:
            previous = {a.practice_id: a for a in last.answers.all()}
    answers = []
    for practice in Practice.objects.active().order_by("number"):
        source = previous.get(practice.pk)
        values = {name: getattr(source, name) for name in ANSWER_FIELDS} if source else {}
        if source is not None:
            values["owner_user_id"] = source.owner_user_id
        answers.append(Answer(assessment=assessment, practice=practice, updated_by=actor, **values))
    Answer.objects.bulk_create(answers)
    audit_record(
        actor=actor, action="assessment.create", obj=assessment,
        after={"project": project.pk, "cycle": cycle, "catalog_version": assessment.catalog_version,
               "copied_from_previous": bool(previous)},
    )
    return assessment


def _validate_answer(answer: Answer, *, due_date_before: dt.date | None) -> None:
    errors = {}  # the not-applicable rule is the model's (Answer.clean, run by full_clean below)
    if answer.level is not None and answer.target_level is not None and answer.target_level < answer.level:
        errors["target_level"] = [f"The target level cannot be below the current level ({answer.level})."]
    # A due date carried over from an earlier cycle may have passed; a date entered now may not.
    if (isinstance(answer.due_date, dt.date) and answer.due_date != due_date_before
            and answer.due_date < timezone.localdate()):
        errors["due_date"] = ["The due date is in the past: choose today or a later day."]
    try:
        answer.full_clean(exclude=["assessment", "practice", "updated_by"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic(durable=True)
def answer_update(*, actor, answer: Answer, **fields) -> Answer:
    """Change an answer while its assessment is a draft or returned; a refusal leaves `answer` as it was."""
    assessment = Assessment.objects.select_for_update().select_related("project").get(pk=answer.assessment_id)
    if not assessment.can_be_edited_by(actor):
        raise PermissionDenied("Only members of the project's team can answer its assessment.")
    if assessment.status not in EDITABLE_STATUSES:
        raise ValidationError(f"Answers can only change while the assessment is a draft or returned (it is {assessment.status}).")
    original = {name: getattr(answer, name) for name in ANSWER_FIELDS}
    original_owner_user = answer.owner_user_id
    before = snapshot(answer, ANSWER_FIELDS)
    for name, value in fields.items():
        if name in ANSWER_FIELDS:
            setattr(answer, name, value)
    if answer.not_applicable is None:
        answer.not_applicable = False
    for text_field in ("justification", "notes", "owner"):
        if getattr(answer, text_field) is None:
            setattr(answer, text_field, "")
    try:
        _validate_answer(answer, due_date_before=original["due_date"])
        _resolve_owner(answer, assessment, owner_before=original["owner"])
    except ValidationError:
        for name, value in original.items():
            setattr(answer, name, value)
        answer.owner_user_id = original_owner_user
        raise
    answer.updated_by = actor
    answer.save()
    old, new = diff(before, snapshot(answer, ANSWER_FIELDS))
    if new:
        audit_record(
            actor=actor, action="answer.update", obj=answer, before=old, after=new,
            extra={"assessment": assessment.pk, "practice": answer.practice.code},
        )
    return answer


def _resolve_owner(answer: Answer, assessment: Assessment, *, owner_before: str) -> None:
    """`owner` names a user of the project's team (their username); that user owns the answer's action.

    A name carried over from an earlier cycle, before owners were users, stays as a label; a name typed
    now must be a member of the team, or the answer is refused with the names that would do.
    """
    from accounts.models import User

    name = (answer.owner or "").strip()
    answer.owner = name
    if not name:
        answer.owner_user = None
        return
    user = (User.objects.filter(memberships__team_id=assessment.project.team_id, username__iexact=name, is_active=True)
            .first())
    if user is not None:
        answer.owner, answer.owner_user = user.username, user
        return
    if name == (owner_before or "").strip():
        answer.owner_user = None
        return
    members = sorted(User.objects.filter(memberships__team_id=assessment.project.team_id, is_active=True)
                     .values_list("username", flat=True))
    raise ValidationError({"owner": [f"The owner must be a member of the team ({', '.join(members) or 'nobody yet'})."]})


def missing_answers(assessment: Assessment) -> list[str]:
    return [a.practice.code for a in assessment.answers.select_related("practice") if not a.is_answered]


@transaction.atomic(durable=True)
def assessment_submit(*, actor, assessment: Assessment) -> Assessment:
    """The team lead sends a complete assessment for review."""
    assessment = Assessment.objects.select_for_update().select_related("project").get(pk=assessment.pk)
    if not assessment.can_be_submitted_by(actor):
        raise PermissionDenied("Only the team's lead can submit its assessment.")
    if assessment.status not in EDITABLE_STATUSES:
        raise ValidationError(f"Only a draft or returned assessment can be submitted (it is {assessment.status}).")
    missing = missing_answers(assessment)
    if missing:
        raise ValidationError({"missing": missing})
    before = assessment.status
    assessment.status = AssessmentStatus.SUBMITTED
    assessment.submitted_by, assessment.submitted_at = actor, timezone.now()
    assessment.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
    audit_record(actor=actor, action="assessment.submit", obj=assessment,
                 before={"status": before}, after={"status": assessment.status})
    notify("assessment.submitted", obj=assessment, actor=actor)
    return assessment


def _lock_for_review(actor, assessment: Assessment) -> Assessment:
    assessment = Assessment.objects.select_for_update().select_related("project").get(pk=assessment.pk)
    refusal = assessment.review_refusal(actor)  # separation of duties, one rule for every path
    if refusal:
        raise PermissionDenied(refusal)
    if assessment.status != AssessmentStatus.SUBMITTED:
        raise ValidationError(f"Only a submitted assessment can be reviewed (it is {assessment.status}).")
    return assessment


def _lock_project(project_id: int) -> Project:
    """Serialise the approvals of one project: the second waits for the first to commit, then sees it."""
    return Project.objects.select_for_update().get(pk=project_id)


@transaction.atomic(durable=True)
def assessment_approve(*, actor, assessment: Assessment, comment: str = "") -> Assessment:
    """Approve: the assessment becomes immutable and, unless a newer cycle is already approved, the one
    that counts for the project's score (the previous one is superseded at the same instant)."""
    _lock_project(assessment.project_id)
    assessment = _lock_for_review(actor, assessment)
    now = timezone.now()
    current = Assessment.objects.current_approved().filter(project_id=assessment.project_id).first()
    counts = current is None or not current.is_newer_cycle_than(assessment)
    if current is not None and counts:  # an approved assessment never changes otherwise: no updated_at
        Assessment.objects.filter(pk=current.pk).update(superseded_at=now)
    assessment.status = AssessmentStatus.APPROVED
    assessment.reviewed_by, assessment.reviewed_at, assessment.review_comment = actor, now, (comment or "").strip()
    # An older cycle approved after a newer one is signed off for the record but never counts.
    assessment.superseded_at = None if counts else now
    assessment.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment", "superseded_at",
                                   "updated_at"])
    after = {"status": assessment.status, "comment": assessment.review_comment, "counts": counts}
    if current is not None:
        after["supersedes" if counts else "superseded_by"] = current.pk
    audit_record(actor=actor, action="assessment.approve", obj=assessment,
                 before={"status": AssessmentStatus.SUBMITTED}, after=after)
    notify("assessment.approved", obj=assessment, actor=actor)
    if counts:
        signals.assessment_counted.send(sender=Assessment, actor=actor, assessment=assessment)  # actions follow
    return assessment


@transaction.atomic(durable=True)
def assessment_return(*, actor, assessment: Assessment, comment: str) -> Assessment:
    """Send back to the team for changes; the comment says what to change."""
    if not (comment or "").strip():
        raise ValidationError({"comment": ["Say what the team should change: a comment is required to return an assessment."]})
    assessment = _lock_for_review(actor, assessment)
    assessment.status = AssessmentStatus.RETURNED
    assessment.reviewed_by, assessment.reviewed_at, assessment.review_comment = actor, timezone.now(), comment.strip()
    assessment.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment", "updated_at"])
    audit_record(actor=actor, action="assessment.return", obj=assessment,
                 before={"status": AssessmentStatus.SUBMITTED}, after={"status": assessment.status, "comment": assessment.review_comment})
    notify("assessment.returned", obj=assessment, actor=actor)
    return assessment


# --- risk acceptances ---------------------------------------------------------------------------

def _validate_acceptance(justification: str, expires_on: dt.date) -> None:
    errors = {}
    if len((justification or "").strip()) < 20:
        errors["justification"] = ["Explain the accepted risk in at least 20 characters."]
    today = timezone.localdate()
    if not isinstance(expires_on, dt.date) or expires_on <= today:
        errors["expires_on"] = ["The acceptance must expire on a future date."]
    elif expires_on > today + dt.timedelta(days=ACCEPTANCE_MAX_DAYS):
        errors["expires_on"] = [f"Accept a risk for at most {ACCEPTANCE_MAX_DAYS} days, then review it again."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic(durable=True)
def acceptance_propose(*, actor, project: Project, practice: Practice, justification: str, expires_on: dt.date) -> RiskAcceptance:
    """The team lead asks an officer to accept a gap on one practice until a date."""
    acceptance = RiskAcceptance(project=project, practice=practice, justification=(justification or "").strip(),
                                expires_on=expires_on, proposed_by=actor)
    if not acceptance.can_be_proposed_by(actor):
        raise PermissionDenied("Only the team's lead can propose a risk acceptance.")
    _validate_acceptance(justification, expires_on)
    acceptance.save()
    audit_record(actor=actor, action="acceptance.propose", obj=acceptance,
                 after=snapshot(acceptance, ("project", "practice", "justification", "expires_on", "status")))
    notify("acceptance.proposed", obj=acceptance, actor=actor)
    return acceptance


@transaction.atomic(durable=True)
def acceptance_update(*, actor, acceptance: RiskAcceptance, **fields) -> RiskAcceptance:
    """The lead may reword or shorten a proposal until an officer decides on it."""
    if not acceptance.can_be_proposed_by(actor):
        raise PermissionDenied("Only the team's lead can change a proposed risk acceptance.")
    if acceptance.is_decided:
        raise ValidationError("A decided risk acceptance cannot be changed; propose a new one.")
    before = snapshot(acceptance, ("justification", "expires_on"))
    acceptance.justification = fields.get("justification", acceptance.justification)
    acceptance.expires_on = fields.get("expires_on", acceptance.expires_on)
    _validate_acceptance(acceptance.justification, acceptance.expires_on)
    acceptance.save()
    old, new = diff(before, snapshot(acceptance, ("justification", "expires_on")))
    if new:
        audit_record(actor=actor, action="acceptance.update", obj=acceptance, before=old, after=new)
    return acceptance


@transaction.atomic(durable=True)
def acceptance_decide(*, actor, acceptance: RiskAcceptance, status: str, note: str = "") -> RiskAcceptance:
    """An officer (outside the team) approves or rejects a proposed acceptance."""
    acceptance = RiskAcceptance.objects.select_for_update().select_related("project").get(pk=acceptance.pk)
    refusal = acceptance.decision_refusal(actor)
    if refusal:
        raise PermissionDenied(refusal)
    if status not in (AcceptanceStatus.APPROVED, AcceptanceStatus.REJECTED):
        raise ValidationError({"status": ["Choose approved or rejected."]})
    if acceptance.status != AcceptanceStatus.PROPOSED:
        raise ValidationError(f"This risk acceptance was already {acceptance.status}.")
    if status == AcceptanceStatus.REJECTED and not (note or "").strip():
        raise ValidationError({"decision_note": ["Say why the risk is not accepted: the team reads this note."]})
    if status == AcceptanceStatus.APPROVED and acceptance.expires_on <= timezone.localdate():
        raise ValidationError({"expires_on": ["This proposal has already expired."]})
    acceptance.status, acceptance.decision_note = status, (note or "").strip()
    acceptance.decided_at, acceptance.decided_by = timezone.now(), actor
    acceptance.approved_by = actor if status == AcceptanceStatus.APPROVED else None
    acceptance.save(update_fields=["status", "decision_note", "decided_at", "decided_by", "approved_by"])
    audit_record(actor=actor, action=f"acceptance.{status}", obj=acceptance,
                 before={"status": AcceptanceStatus.PROPOSED}, after={"status": status, "note": acceptance.decision_note})
    notify("acceptance.decided", obj=acceptance, actor=actor, context={"status": status})
    if status == AcceptanceStatus.APPROVED:
        signals.risk_accepted.send(sender=RiskAcceptance, actor=actor, acceptance=acceptance)  # actions close
    return acceptance
