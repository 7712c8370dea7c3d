"""Check roots assigned to teams, scan allowances and signing policies, managed by administrators (audited)."""

from django.contrib import admin

from audit.admin_mixins import AuditedAdminMixin

from .models import AllowedSigner, ScanAllowance, SigningPolicy, TeamCheckRoot


@admin.register(ScanAllowance)
class ScanAllowanceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Reviewed extras of the model-scanning allow-list; the admin records the reviewer and validates the name."""

    list_display = ("name", "kind", "team", "reviewed_by", "reviewed_at")
    list_filter = ("kind", "team")
    search_fields = ("name", "reason")
    readonly_fields = ("reviewed_by", "reviewed_at")

    def save_model(self, request, obj, form, change):
        from django.utils import timezone

        obj.reviewed_by, obj.reviewed_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)


class AllowedSignerInline(admin.TabularInline):
    model = AllowedSigner
    extra = 0


@admin.register(SigningPolicy)
class SigningPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("project", "required", "updated_by", "updated_at")
    inlines = [AllowedSignerInline]
    readonly_fields = ("updated_by",)


@admin.register(TeamCheckRoot)
class TeamCheckRootAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("path", "team", "note", "created_at")
    list_select_related = ("team",)
    search_fields = ("path", "team__name", "team__slug")
    autocomplete_fields = ("team",)
