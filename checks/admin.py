"""Check roots assigned to teams, managed by administrators (every change audited)."""

from django.contrib import admin

from audit.admin_mixins import AuditedAdminMixin

from .models import TeamCheckRoot


@admin.register(TeamCheckRoot)
class TeamCheckRootAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("path", "team", "note", "created_at")
    list_select_related = ("team",)
    search_fields = ("path", "team__name", "team__slug")
    autocomplete_fields = ("team",)
