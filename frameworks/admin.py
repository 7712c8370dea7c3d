from django.contrib import admin

from audit.admin_mixins import ReadOnlyAdminMixin

from .models import Framework, Requirement


@admin.register(Framework)
class FrameworkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: frameworks come from the data files (`manage.py load_frameworks`)."""

    list_display = ("short_title", "version", "key", "loaded_at")


@admin.register(Requirement)
class RequirementAdmin(FrameworkAdmin):
    list_display = ("ref", "title", "framework")
    list_filter = ("framework",)
    search_fields = ("ref", "title")
