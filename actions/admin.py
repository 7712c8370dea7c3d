from django.contrib import admin

from audit.admin_mixins import ReadOnlyAdminMixin

from .models import Action


@admin.register(Action)
class ActionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only here: actions change through the portal so every change is audited."""

    list_display = ("project", "practice", "source", "owner", "due_on", "status")
    list_filter = ("status", "source")
