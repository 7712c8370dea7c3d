from django.contrib import admin

from audit.admin_mixins import AuditedAdminMixin

from .models import CIIdentityRule, CIIssuer


@admin.register(CIIssuer)
class CIIssuerAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Administrators register the CI's issuer (docs/ci.md, "CI identity tokens"); every change is audited."""

    list_display = ["issuer", "audience", "created_at"]


@admin.register(CIIdentityRule)
class CIIdentityRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Claims (repository, ref, environment) that bind a CI identity to one project."""

    list_display = ["repository", "ref", "environment", "project", "issuer"]
    list_select_related = ["project", "issuer"]
