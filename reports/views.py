"""Pages: request an export, follow its progress, download it; the portal's settings page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Team
from accounts.scope import get_scoped_or_404, scoped, scoped_view
from assessments.models import Project
from checks.models import Advisory
from controls.models import CatalogRelease
from mlsec_portal.api import error_text, form_saved

from . import services
from .downloads import download_response
from .models import Report, ReportScope, ReportStatus
from .renderers.registry import format_choices


class ReportForm(forms.Form):
    scope = forms.ChoiceField(choices=ReportScope.choices)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, to_field_name="slug")
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False)
    as_of = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="Empty: now. A past day exports everything as it stood at the end of that day.")
    format = forms.ChoiceField(choices=format_choices, initial="zip")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = scoped(user, Team).order_by("name")
        self.fields["project"].queryset = scoped(user, Project).active().select_related("team").order_by(
            "team__name", "name")
        if not user.sees_everything:
            self.fields["scope"].choices = [c for c in ReportScope.choices if c[0] != ReportScope.ORG]


@login_required
@scoped_view
def reports_page(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None, user=request.user, initial={"scope": "team" if not request.user.sees_everything else "org"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if form_saved(request, form, lambda: services.report_request(
                actor=request.user, scope=data["scope"], format=data["format"], team=data.get("team"),
                project=data.get("project"), as_of=data.get("as_of")),
                lambda report: f"Export queued: {report.get_format_display()} of {report.scope_label}."):
            return redirect("reports")
    reports = scoped(request, Report).select_related("requested_by", "team", "project")[:30]
    return render(request, "reports/index.html", {"form": form, "reports": reports,
                                                  "pending": [str(r.pk) for r in reports if r.status in ("queued", "running")]})


@login_required
@scoped_view
def report_download(request: HttpRequest, pk) -> HttpResponse:
    report = get_scoped_or_404(request, Report, pk=pk)
    if report.status != ReportStatus.READY:
        raise Http404("This report is not ready.")
    try:
        return download_response(report, actor=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
        return redirect("reports")


@login_required
@require_POST
@scoped_view
def report_retry(request: HttpRequest, pk) -> HttpResponse:
    report = get_scoped_or_404(request, Report.objects.select_related("team", "project"), pk=pk)
    try:
        services.report_retry(actor=request.user, report=report)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Export queued again: {report.get_format_display()} of {report.scope_label}.")
    return redirect("reports")


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    pem, fingerprint = services.signing_public_key()
    return render(request, "reports/settings.html", {
        "public_key_pem": pem, "fingerprint": fingerprint, "catalog_version": CatalogRelease.current_version(),
        "advisories": Advisory.objects.count(), "require_mfa": settings.MLSEC_REQUIRE_MFA,
        "max_upload_mb": settings.MLSEC_MAX_UPLOAD_MB, "retention_days": settings.MLSEC_RETENTION_DAYS,
        "check_roots": settings.MLSEC_CHECK_ROOTS if request.user.sees_everything else None, "now": timezone.now(),
    })
