from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mlsec_portal.scope import scoped, scoped_view

from .filtersets import AuditEventFilter
from .models import AuditEvent
from .redaction import redacted_view


@login_required
@scoped_view
def audit_log(request: HttpRequest) -> HttpResponse:
    if not request.user.sees_everything:
        raise PermissionDenied
    events = AuditEventFilter(request.GET or None, queryset=scoped(request, AuditEvent).sealed().order_by("-seq"))
    page = Paginator(events.qs, 50).get_page(request.GET.get("page"))
    for event in page:
        event.shown = redacted_view(event)  # secrets stored by older versions stay masked
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/log.html", {"filter": events, "page": page, "query": query.urlencode()})
