"""Pages: the campaigns (officers launch one here) and a campaign's progress per team."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Team
from accounts.scope import get_scoped_or_404, scoped, scoped_view
from mlsec_portal.api import errors_to_form

from . import services
from .forms import LaunchForm
from .models import Campaign


@login_required
@require_http_methods(["GET", "POST"])
@scoped_view
def campaign_list(request: HttpRequest) -> HttpResponse:
    may_launch = Campaign.can_be_launched_by(request.user)
    form = LaunchForm(request.POST or None) if may_launch else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                campaign = services.campaign_launch(actor=request.user, cycle=form.cleaned_data["cycle"],
                                                    deadline=form.cleaned_data["deadline"],
                                                    teams=form.chosen_teams(), title=form.cleaned_data["title"])
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(request, f"{campaign.cycle} launched: {campaign.drafts_created} drafts created.")
                return redirect("campaign-detail", pk=campaign.pk)
    campaigns = scoped(request, Campaign).select_related("created_by").order_by("-created_at")
    return render(request, "campaigns/list.html", {"campaigns": campaigns, "form": form},
                  status=400 if request.method == "POST" else 200)


def _visible_teams(user, campaign: Campaign) -> list[Team]:
    teams = campaign.teams.order_by("name")
    return list(teams if user.sees_everything else teams.filter(pk__in=list(user.team_roles())))


@login_required
@scoped_view
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_scoped_or_404(request, Campaign, pk=pk)
    progress = services.campaign_progress(campaign, teams=_visible_teams(request.user, campaign))
    totals = {s: sum(getattr(p, s) for p in progress) for s in services.PROGRESS_STATES}
    return render(request, "campaigns/detail.html", {
        "campaign": campaign, "progress": progress, "totals": totals,
        "may_close": Campaign.can_be_launched_by(request.user) and campaign.closed_at is None})


@login_required
@require_POST
@scoped_view
def campaign_close(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_scoped_or_404(request, Campaign, pk=pk)
    services.campaign_close(actor=request.user, campaign=campaign)
    messages.success(request, f"{campaign.cycle} closed: no more reminders.")
    return redirect("campaign-detail", pk=pk)
