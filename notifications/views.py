"""Pages: one's notifications, one's preferences, and a team's channels."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Team
from accounts.scope import get_scoped_or_404, scoped, scoped_view
from mlsec_portal.api import form_saved

from . import services
from .forms import PreferencesForm, TeamChannelForm
from .models import Notification, TeamChannel

PAGE_SIZE = 50


@login_required
@scoped_view
def notification_list(request: HttpRequest) -> HttpResponse:
    rows = scoped(request, Notification).for_list()
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(rows.unread() if unread_only else rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page, "unread_only": unread_only})


@login_required
@require_POST
@scoped_view
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one read and follow its link (a POST, so a crafted link cannot mark anything)."""
    notification = get_scoped_or_404(request, Notification.objects.select_related("dispatch"), pk=pk)
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    if request.POST.get("open"):
        return redirect(notification.dispatch.path or "/")
    return redirect("notifications")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    marked = services.notifications_mark_read(user=request.user)
    messages.success(request, f"{marked} notification{'s' if marked != 1 else ''} marked read.")
    return redirect("notifications")


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, current=services.preferences_for(request.user))
    if request.method == "POST" and form.is_valid() and form_saved(
            request, form, lambda: services.preferences_update(
                user=request.user, choices={k: v for k, v in form.cleaned_data.items() if v}),
            "Your notification preferences are saved."):
        return redirect("notification-preferences")
    return render(request, "notifications/preferences.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@scoped_view
def team_channels(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_scoped_or_404(request, Team, slug=slug)
    can_manage = TeamChannel.can_be_managed_by(request.user, team)
    form = TeamChannelForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only the team's leads and security officers can set its notification channels.")
        if form.is_valid() and form_saved(
                request, form, lambda: services.team_channel_create(actor=request.user, team=team, **form.cleaned_data),
                lambda channel: f"{channel.name} will receive {team.name}'s notifications."):
            return redirect("team-channels", slug=team.slug)
    channels = scoped(request, TeamChannel).filter(team=team)
    return render(request, "notifications/team_channels.html",
                  {"team": team, "channels": channels, "form": form, "can_manage": can_manage},
                  status=400 if form.errors else 200)


@login_required
@require_POST
@scoped_view
def team_channel_change(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Switch a channel on or off, or remove it."""
    team = get_scoped_or_404(request, Team, slug=slug)
    channel = get_scoped_or_404(request, TeamChannel.objects.filter(team=team), pk=pk)
    operation = request.POST.get("operation")
    if operation == "delete":
        services.team_channel_delete(actor=request.user, channel=channel)
        messages.success(request, f"{channel.name} was removed.")
    elif operation in ("on", "off"):
        services.team_channel_update(actor=request.user, channel=channel, active=operation == "on")
        messages.success(request, f"{channel.name} is switched {operation}.")
    else:
        messages.error(request, "Choose on, off or delete.")
        return redirect("team-channels", slug=team.slug)
    return redirect("team-channels", slug=team.slug)
