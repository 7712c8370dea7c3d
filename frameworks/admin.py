from django.contrib import admin

from .models import Framework, Requirement


@admin.register(Framework)
class FrameworkAdmin(admin.ModelAdmin):
    """Read-only: frameworks come from the data files (`manage.py load_frameworks`)."""

    list_display = ("short_title", "version", "key", "loaded_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Requirement)
class RequirementAdmin(FrameworkAdmin):
    list_display = ("ref", "title", "framework")
    list_filter = ("framework",)
    search_fields = ("ref", "title")
