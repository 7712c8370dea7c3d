from django.contrib import admin

from audit.admin_mixins import AuditedAdminMixin

from .models import Answer, Assessment, Project, RiskAcceptance


@admin.register(Project)
class ProjectAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "team", "risk_tier", "lifecycle", "archived_at")
    list_filter = ("risk_tier", "lifecycle", "team")
    search_fields = ("name", "slug")


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    fields = ("practice", "level", "not_applicable", "justification", "owner", "target_level", "due_date")
    readonly_fields = ("practice",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is not None and obj.is_editable


@admin.register(Assessment)
class AssessmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("project", "cycle", "status", "submitted_at", "reviewed_at")
    list_filter = ("status", "cycle")
    search_fields = ("project__name",)
    inlines = [AnswerInline]
    readonly_fields = ("status", "catalog_version", "submitted_by", "submitted_at", "reviewed_by", "reviewed_at",
                       "review_comment", "superseded_at", "created_by")

    def has_change_permission(self, request, obj=None):
        # The workflow (submit / approve / return) goes through the pages and the API, never raw edits.
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RiskAcceptance)
class RiskAcceptanceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("project", "practice", "status", "expires_on", "approved_by")
    list_filter = ("status",)
    readonly_fields = ("status", "approved_by", "decided_by", "decided_at", "proposed_by")

    def has_change_permission(self, request, obj=None):
        # An approved or rejected acceptance is final here as in the API: propose a new one instead.
        return super().has_change_permission(request, obj) and (obj is None or not obj.is_decided)

    def has_delete_permission(self, request, obj=None):
        return False
