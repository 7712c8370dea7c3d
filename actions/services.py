"""Opening, changing and closing remediation actions; reminding their owners (docs/workflow.md).

Actions follow the work: an approval opens one for every answer below its target and closes those its
answers now meet; a failing check that caps an approved level opens one, its next pass closes it; an
approved risk acceptance turns the project × practice's open actions into accepted risk.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.choices import TeamRole
from accounts.models import Membership, User
from audit.services import audit_record, diff, snapshot

from .choices import CHECK_DUE_DAYS, DEFAULT_DUE_DAYS, SETTABLE_STATUSES, ActionSource, ActionStatus, Event
from .events import emit
from .models import Action

AUDIT_FIELDS = ("project", "practice", "source", "answer", "check_definition", "check_run", "title", "current_level",
                "target_level", "owner", "due_on", "status")


def _leads(team_id: int) -> list[User]:
    return list(User.objects.filter(memberships__team_id=team_id, memberships__role=TeamRole.LEAD, is_active=True)
                .order_by("username"))


def _owner_for(answer, leads: list[User]):
    """The answer's owner while they are in the team, else the team's first lead, else nobody."""
    if answer is not None and answer.owner_user_id and answer.owner_user.is_active and any(
            m.team_id == answer.assessment.project.team_id for m in answer.owner_user.memberships.all()):
        return answer.owner_user
    return leads[0] if leads else None


def _open(*, actor, values: dict) -> Action:
    action = Action.objects.create(opened_by=actor, **values)
    audit_record(actor=actor, action="action.open", obj=action, after=snapshot(action, AUDIT_FIELDS))
    return action


def _close(*, actor, action: Action, status: str, reason: str) -> None:
    before = {"status": action.status}
    action.status, action.closed_at, action.closed_reason = status, timezone.now(), reason[:300]
    action.save(update_fields=["status", "closed_at", "closed_reason", "updated_at"])
    audit_record(actor=actor, action="action.close", obj=action, before=before,
                 after={"status": status, "reason": action.closed_reason})


def actions_after_approval(*, actor, assessment) -> None:
    """Open an action for each answer below its target, close those the approved answers now meet.

    Called in `assessment_approve`'s transaction (assessments.signals.assessment_counted), only when the approval counts (a newer cycle
    already approved decides instead).
    """
    from assessments.models import Answer, RiskAcceptance

    project = assessment.project
    answers = list(Answer.objects.filter(assessment=assessment).select_related(
        "practice", "assessment__project", "owner_user").prefetch_related("owner_user__memberships"))
    open_actions = {a.practice_id: a for a in Action.objects.open().filter(project=project, source=ActionSource.ANSWER)}
    accepted = set(RiskAcceptance.objects.in_force(timezone.localdate()).filter(project=project)
                   .values_list("practice_id", flat=True))
    leads = _leads(project.team_id)
    today = timezone.localdate()
    for answer in answers:
        existing = open_actions.get(answer.practice_id)
        below = answer.level is not None and answer.target_level is not None and answer.level < answer.target_level
        if existing is not None:
            _follow_answer(actor=actor, action=existing, answer=answer, below=below, leads=leads)
        elif below:
            _open(actor=actor, values={
                "project": project, "practice": answer.practice, "source": ActionSource.ANSWER, "answer": answer,
                "title": f"Raise {answer.practice.code} from level {answer.level} to {answer.target_level}",
                "current_level": answer.level, "target_level": answer.target_level,
                "owner": _owner_for(answer, leads),
                "due_on": answer.due_date or today + dt.timedelta(days=DEFAULT_DUE_DAYS),
                "status": ActionStatus.ACCEPTED if answer.practice_id in accepted else ActionStatus.OPEN,
            })


def _follow_answer(*, actor, action: Action, answer, below: bool, leads) -> None:
    """A later approved answer either meets the action's target (done) or carries it on, updated."""
    if answer.not_applicable:
        _close(actor=actor, action=action, status=ActionStatus.DONE,
               reason=f"{answer.assessment.cycle} approved the practice as not applicable")
        return
    target = answer.target_level if below else action.target_level
    if answer.level is not None and target is not None and answer.level >= target:
        _close(actor=actor, action=action, status=ActionStatus.DONE,
               reason=f"{answer.assessment.cycle} approved level {answer.level} (target {target})")
        return
    before = snapshot(action, AUDIT_FIELDS)
    action.answer, action.current_level, action.target_level = answer, answer.level, target
    if below and answer.due_date:
        action.due_on = answer.due_date
    if answer.owner_user_id:
        action.owner = _owner_for(answer, leads)
    action.save()
    old, new = diff(before, snapshot(action, AUDIT_FIELDS))
    if new:
        audit_record(actor=actor, action="action.update", obj=action, before=old, after=new)


def _worst_severity(run) -> str:
    order = ["critical", "high", "medium", "low"]
    found = {str(f.get("severity", "")).lower() for f in (run.findings or []) if isinstance(f, dict)}
    return next((s for s in order if s in found), "medium")


def actions_after_check_verdict(run) -> None:
    """A pass closes the check's open actions on the project; a failure that caps an approved level
    (above 1) opens one per capped practice. Called in `finish_run`'s transaction (checks.signals.verdict_decided)."""
    from assessments.models import Answer

    if run.status == "passed":
        for action in Action.objects.open().filter(project_id=run.project_id, source=ActionSource.CHECK,
                                                   check_definition_id=run.definition_id):
            _close(actor=None, action=action, status=ActionStatus.DONE, reason=f"check run #{run.pk} passed")
        return
    if run.status != "failed":
        return
    practice_ids = list(run.definition.practices.values_list("pk", flat=True))
    capped = (Answer.objects.filter(assessment__project_id=run.project_id, assessment__status="approved",
                                    assessment__superseded_at__isnull=True, practice_id__in=practice_ids, level__gt=1)
              .select_related("practice", "assessment__project", "owner_user").prefetch_related("owner_user__memberships"))
    _open_for_check(actor=None, run=run, answers=list(capped), practices=None)


def _open_for_check(*, actor, run, answers, practices, owner=None, due_on=None) -> list[Action]:
    already = set(Action.objects.open().filter(project_id=run.project_id, source=ActionSource.CHECK,
                                               check_definition_id=run.definition_id).values_list("practice_id", flat=True))
    leads = _leads(run.project.team_id)
    due = due_on or timezone.localdate() + dt.timedelta(days=CHECK_DUE_DAYS[_worst_severity(run)])
    items = [(a.practice, a) for a in answers] + [(p, None) for p in (practices or [])]
    opened = []
    for practice, answer in items:
        if practice.pk in already:
            continue
        already.add(practice.pk)
        opened.append(_open(actor=actor, values={
            "project_id": run.project_id, "practice": practice, "source": ActionSource.CHECK, "answer": answer,
            "check_definition_id": run.definition_id, "check_run": run,
            "title": f"Fix the failing check {run.definition_id} ({practice.code})",
            "current_level": 1 if answer is not None else None, "target_level": answer.level if answer else None,
            "owner": owner or _owner_for(answer, leads), "due_on": due,
        }))
    return opened


def _team_member(user_id, team_id: int) -> User:
    user = User.objects.filter(pk=user_id, is_active=True, memberships__team_id=team_id).first()
    if user is None:
        raise ValidationError({"owner": ["The owner must be an active member of the project's team."]})
    return user


def _future_date(value) -> dt.date:
    if not isinstance(value, dt.date) or value < timezone.localdate():
        raise ValidationError({"due_on": ["Choose today or a later day."]})
    return value


@transaction.atomic(durable=True)
def action_promote_check(*, actor, run, owner_id=None, due_on=None) -> list[Action]:
    """An officer or the team's lead turns a failing check into actions, one per practice it covers."""
    from checks.models import CheckRun

    run = CheckRun.objects.select_related("project__team", "definition").get(pk=run.pk)
    if not run.project.can_manage_actions(actor):
        raise PermissionDenied("Only the team's lead, a security officer or an administrator can open actions.")
    if run.status != "failed" or run.superseded_at is not None:
        raise ValidationError({"check_run": ["Only the current failing verdict of a check can become an action."]})
    owner = _team_member(owner_id, run.project.team_id) if owner_id else None
    due = _future_date(due_on) if due_on is not None else None
    opened = _open_for_check(actor=actor, run=run, answers=[], practices=list(run.definition.practices.all()),
                             owner=owner, due_on=due)
    if not opened:
        raise ValidationError({"check_run": ["This check already has an open action for each practice it covers."]})
    return opened


@transaction.atomic(durable=True)
def action_update(*, actor, action: Action, **fields) -> Action:
    """Change owner, due date or status (open / in progress); a refusal changes nothing."""
    action = Action.objects.select_for_update().select_related("project").get(pk=action.pk)
    managing = {k for k in ("owner", "due_on") if k in fields}
    if managing and not action.can_be_managed_by(actor):
        raise PermissionDenied("Only the team's lead, a security officer or an administrator can reassign actions.")
    if "status" in fields and not action.can_change_status(actor):
        raise PermissionDenied("Only the action's owner, the team's lead or an officer can change its status.")
    if not action.is_open:
        raise ValidationError(f"This action is {action.get_status_display().lower()}: it cannot change any more.")
    before = snapshot(action, AUDIT_FIELDS)
    if "owner" in fields:
        action.owner = _team_member(fields["owner"], action.project.team_id) if fields["owner"] else None
    if "due_on" in fields:
        action.due_on = _future_date(fields["due_on"])
        action.due_notified_at = action.overdue_notified_at = None  # a new date, new reminders
    if "status" in fields:
        if fields["status"] not in SETTABLE_STATUSES:
            raise ValidationError({"status": [
                "Choose open or in progress: an action is done when an approved answer reaches its target or its "
                "check passes, and accepted when an officer accepts the risk."]})
        action.status = fields["status"]
    action.save()
    old, new = diff(before, snapshot(action, AUDIT_FIELDS))
    if new:
        audit_record(actor=actor, action="action.update", obj=action, before=old, after=new)
    return action


def actions_accept_risk(*, actor, acceptance) -> None:
    """An approved risk acceptance closes the project × practice's open actions as accepted risk."""
    for action in Action.objects.open().filter(project_id=acceptance.project_id, practice_id=acceptance.practice_id):
        _close(actor=actor, action=action, status=ActionStatus.ACCEPTED,
               reason=f"risk accepted until {acceptance.expires_on:%Y-%m-%d}")


def _recipients(action: Action, leads_by_team: dict[int, list[User]], *, with_leads: bool) -> list[User]:
    people = [action.owner] if action.owner_id else []
    if with_leads or not people:
        people += leads_by_team.get(action.project.team_id, [])
    return people


def send_action_reminders(*, today: dt.date | None = None) -> dict:
    """Once per action: `action.due` some days before its due date, `action.overdue` the day after it."""
    today = today or timezone.localdate()
    soon = today + dt.timedelta(days=settings.MLSEC_ACTION_DUE_SOON_DAYS)
    due = list(Action.objects.open().filter(due_on__gte=today, due_on__lte=soon, due_notified_at__isnull=True)
               .for_lists())
    overdue = list(Action.objects.overdue(today).filter(overdue_notified_at__isnull=True).for_lists())
    teams = {a.project.team_id for a in due + overdue}
    leads_by_team: dict[int, list[User]] = {}
    for membership in Membership.objects.filter(team_id__in=teams, role=TeamRole.LEAD, user__is_active=True
                                                ).select_related("user").order_by("user__username"):
        leads_by_team.setdefault(membership.team_id, []).append(membership.user)
    now = timezone.now()
    for name, items, field, with_leads in ((Event.ACTION_DUE, due, "due_notified_at", False),
                                           (Event.ACTION_OVERDUE, overdue, "overdue_notified_at", True)):
        for action in items:
            with transaction.atomic():
                # Claim the reminder first: two beat runs never tell anyone twice.
                if not Action.objects.filter(pk=action.pk, **{f"{field}__isnull": True}).update(**{field: now}):
                    continue
                emit(name, obj=action, actor=None, recipients=_recipients(action, leads_by_team, with_leads=with_leads),
                     context={"project": action.project_id, "practice": action.practice.code,
                              "due_on": action.due_on.isoformat(), "path": f"/actions/{action.pk}/"})
    return {"due": len(due), "overdue": len(overdue)}


def overdue_actions(user, *, limit: int, team_ids=None) -> tuple[list[Action], int]:
    """The first `limit` overdue actions in `user`'s scope and how many there are, in one query."""
    from mlsec_portal.firstrows import first_rows_and_count

    rows = Action.objects.visible_to(user).overdue(timezone.localdate())
    if team_ids is not None:
        rows = rows.filter(project__team_id__in=team_ids)
    return first_rows_and_count(rows.for_lists().order_by("due_on", "pk"), limit)
