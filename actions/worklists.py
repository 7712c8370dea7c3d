"""Organisation-wide work lists: paginated, filterable by team, downloadable as CSV (docs/workflow.md).

Each list is a queryset in the viewer's scope (`visible_to` first, always) and the columns a person
reads; the page and the CSV are two renderings of the same rows, one query per page whatever its size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.utils import timezone

from assessments.filtersets import ProjectFilter
from checks.filtersets import CheckRunFilter

from .filtersets import ActionFilter


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable
    link: Callable | None = None


@dataclass(frozen=True)
class WorkList:
    slug: str
    title: str
    description: str
    rows: Callable  # (user, today) -> queryset in the user's scope
    columns: tuple[Column, ...]
    team_path: str = ""  # lookup from a row to its team's slug, for the team filter of a list without a FilterSet
    # The API's FilterSet of the rows: `?team=` narrows through its `team` filter, as `GET /api/v1/…?team=` does.
    filterset: Callable | None = None


def _date(value) -> str:
    return value.isoformat() if value else ""


def _actions(user, today, *, overdue=False):
    from .models import Action

    rows = Action.objects.visible_to(user).open().for_lists()
    return (rows.overdue(today) if overdue else rows).order_by("due_on", "pk")


def _evidence(user):
    from evidence.models import Evidence, EvidenceKind

    return (Evidence.objects.visible_to(user).current().exclude(kind=EvidenceKind.CHECK)
            .select_related("project__team", "team", "practice", "uploaded_by"))


def _pending_evidence(user, today):
    return _evidence(user).filter(status="pending").order_by("created_at", "pk")


def _expiring_evidence(user, today):
    return (_evidence(user).exclude(status="rejected")
            .filter(valid_until__gte=today, valid_until__lte=today + dt.timedelta(days=30)).order_by("valid_until", "pk"))


def _expired_evidence(user, today):
    return _evidence(user).exclude(status="rejected").filter(valid_until__lt=today).order_by("valid_until", "pk")


def _failing_checks(user, today):
    from checks.services import failing_checks

    return failing_checks(user).defer("findings", "data").order_by("-finished_at", "pk")


def _unassessed_projects(user, today):
    from assessments.models import Assessment, Project

    approved = Assessment.objects.current_approved().filter(project_id=OuterRef("pk"))
    return (Project.objects.visible_to(user).active().filter(~Exists(approved)).select_related("team")
            .order_by("team__name", "name"))


ACTION_COLUMNS = (
    Column("Action", lambda a: a.title, lambda a: f"/actions/{a.pk}/"),
    Column("Project", lambda a: a.project.name, lambda a: f"/projects/{a.project_id}/"),
    Column("Team", lambda a: a.project.team.name),
    Column("Practice", lambda a: a.practice.code),
    Column("Owner", lambda a: a.owner.username if a.owner else ""),
    Column("Due", lambda a: _date(a.due_on)),
    Column("Status", lambda a: a.get_status_display()),
)
EVIDENCE_COLUMNS = (
    Column("Evidence", lambda e: e.title, lambda e: f"/evidence/{e.pk}/"),
    Column("Project", lambda e: e.project.name if e.project_id else "shared",
           lambda e: f"/projects/{e.project_id}/" if e.project_id else f"/evidence/{e.pk}/#links"),
    Column("Team", lambda e: e.project.team.name if e.project_id else (e.team.name if e.team_id else "organisation")),
    Column("Practice", lambda e: e.practice.code),
    Column("Uploaded by", lambda e: e.uploaded_by.username if e.uploaded_by else ""),
    Column("Stored", lambda e: _date(e.created_at.date())),
    Column("Valid until", lambda e: _date(e.valid_until)),
)

WORK_LISTS = {w.slug: w for w in (
    WorkList("open-actions", "Open actions", "Every open remediation action, soonest due first.",
             _actions, ACTION_COLUMNS, filterset=ActionFilter),
    WorkList("overdue-actions", "Overdue actions", "Open actions past their due date.",
             lambda u, t: _actions(u, t, overdue=True), ACTION_COLUMNS, filterset=ActionFilter),
    WorkList("evidence-to-review", "Evidence to review", "Current evidence waiting for an officer, oldest first.",
             _pending_evidence, EVIDENCE_COLUMNS, "project__team__slug"),
    WorkList("evidence-expiring", "Evidence expiring", "Evidence whose validity ends in the next 30 days.",
             _expiring_evidence, EVIDENCE_COLUMNS, "project__team__slug"),
    WorkList("evidence-expired", "Expired evidence", "Evidence past its validity: the practices it supports are stale.",
             _expired_evidence, EVIDENCE_COLUMNS, "project__team__slug"),
    WorkList("failing-checks", "Failing checks", "The failing verdicts in force, newest first.", _failing_checks, (
        Column("Check", lambda r: r.definition.title, lambda r: f"/check-runs/{r.pk}/"),
        Column("Project", lambda r: r.project.name, lambda r: f"/projects/{r.project_id}/"),
        Column("Team", lambda r: r.project.team.name),
        Column("Summary", lambda r: r.summary[:200]),
        Column("Since", lambda r: _date(r.finished_at.date() if r.finished_at else None)),
    ), filterset=CheckRunFilter),
    WorkList("projects-without-approval", "Projects without an approved assessment",
             "Active projects whose posture nobody has signed off yet.", _unassessed_projects, (
        Column("Project", lambda p: p.name, lambda p: f"/projects/{p.pk}/"),
        Column("Team", lambda p: p.team.name),
        Column("Risk tier", lambda p: p.get_risk_tier_display()),
        Column("Lifecycle", lambda p: p.get_lifecycle_display()),
    ), filterset=ProjectFilter),
)}


def work_list_rows(work_list: WorkList, user, *, team: str | None = None, today: dt.date | None = None):
    rows = work_list.rows(user, today or timezone.localdate())
    if not team:
        return rows
    if work_list.filterset is not None:
        return work_list.filterset({"team": team}, queryset=rows).qs
    return rows.filter(**{work_list.team_path: team})  # the evidence lists: EvidenceFilter has no team filter
