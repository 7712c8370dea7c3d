""""My work": what waits for the signed-in person, each list in their scope, a fixed number of queries.

Composed in web, above actions, assessments and campaigns (docs/architecture.md); the template stays with the
actions' pages (actions/my_work.html).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.scope import scoped, scoped_view
from actions.models import Action
from assessments.choices import EDITABLE_STATUSES
from assessments.models import Assessment
from campaigns.models import Campaign


def my_work_for(user) -> dict:
    """Their open actions, their teams' open assessments (campaign drafts too), and the running campaigns."""
    today = timezone.localdate()
    actions = list(scoped(user, Action).open().filter(owner=user).for_lists().order_by("due_on", "pk"))
    for action in actions:
        action.overdue = action.is_overdue(today)
    team_ids = list(user.team_roles())
    assessments = list(scoped(user, Assessment).with_completion()
                       .filter(status__in=EDITABLE_STATUSES, project__team_id__in=team_ids,
                               project__archived_at__isnull=True)
                       .select_related("project__team").order_by("project__team__name", "project__name", "cycle"))
    for assessment in assessments:
        assessment.submittable_by_viewer = assessment.can_be_submitted_by(user)
    campaigns = {c.cycle: c for c in scoped(user, Campaign).running().order_by("deadline")}
    for assessment in assessments:
        assessment.campaign = campaigns.get(assessment.cycle)
    return {"actions": actions, "overdue_count": sum(a.overdue for a in actions), "assessments": assessments,
            "campaigns": list(campaigns.values()), "today": today}


@login_required
@scoped_view
def my_work(request: HttpRequest) -> HttpResponse:
    return render(request, "actions/my_work.html", my_work_for(request.user))
