from django.contrib import admin

from .models import Action


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    """Read-only here: actions change through the portal so every change is audited."""

    list_display = ("project", "practice", "source", "owner", "due_on", "status")
    list_filter = ("status", "source")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
