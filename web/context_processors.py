"""Navigation and labels every page needs."""

from django.urls import NoReverseMatch, reverse

from accounts.choices import OrgRole, TeamRole
from controls.models import CatalogRelease


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:  # a page of a later part of the product, not installed here
        return None


def _nav(request):
    user = request.user
    items = []
    if user.sees_everything:
        items.append(("Dashboard", _url("dashboard")))
    items.append(("Teams", _url("teams")) if user.sees_everything else ("My teams", _url("home")))
    if user.sees_everything:
        items.append(("Review queue", _url("review-queue")))
    items.append(("My work", _url("my-work")))
    if user.sees_everything:
        items.append(("Campaigns", _url("campaigns")))
    items.append(("Catalogue", _url("catalogue")))
    items.append(("Frameworks", _url("frameworks")))
    items.append(("Checks", _url("checks")))
    if user.sees_everything:
        items.append(("Audit log", _url("audit-log")))
    items.append(("Reports", _url("reports")))
    items.append(("Notifications", _url("notifications")))
    if user.is_org_admin:
        items.append(("People", _url("people")))
        items.append(("Identity", _url("identity-settings")))
    if user.is_org_admin or user.is_staff:
        items.append(("Admin", _url("admin:index")))
    items = [(label, url) for label, url in items if url]
    path = request.path
    result, best = [], ""
    for _label, url in items:
        if path.startswith(url) and len(url) > len(best) and url != "/":
            best = url
    for label, url in items:
        result.append({"label": label, "url": url, "current": url == best or (url == "/" and path == "/"),
                       "count": _unread(user) if label == "Notifications" else 0})
    return result


def _unread(user) -> int:
    """The badge on Notifications: one COUNT per page (an index on recipient, read_at)."""
    from notifications.models import Notification

    return Notification.objects.visible_to(user).unread().count()


def role_label(user) -> str:
    """What the top bar calls the person: their organisation role, else lead or member of a team."""
    if user.effective_role != OrgRole.NONE:
        return OrgRole(user.effective_role).label
    roles = set(user.team_roles().values())
    if TeamRole.LEAD in roles:
        return "team lead"
    return "team member" if roles else "no team yet"


def portal(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"portal_catalog_version": CatalogRelease.current_version()}
    return {
        "portal_nav": _nav(request),
        "portal_role_label": role_label(user),
        "portal_catalog_version": CatalogRelease.current_version(),
    }
