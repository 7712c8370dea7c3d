import json

from django.contrib import admin

from .admin_mixins import ReadOnlyAdminMixin
from .models import AuditEvent
from .redaction import redacted_view


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the trail is append-only. Secrets stored by older versions are shown masked."""

    list_display = ("seq", "at", "actor_username", "action", "object_type", "shown_object_id", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("actor_username", "object_id", "action")
    fields = ("seq", "at", "actor_username", "action", "object_type", "shown_object_id", "shown_object_repr",
              "shown_changes", "ip", "request_id", "chain_version", "key_id", "prev_hash", "hash")
    readonly_fields = fields

    @admin.display(description="object id")
    def shown_object_id(self, event):
        return redacted_view(event).object_id

    @admin.display(description="object")
    def shown_object_repr(self, event):
        return redacted_view(event).object_repr

    @admin.display(description="changes")
    def shown_changes(self, event):
        return json.dumps(redacted_view(event).changes, indent=1, sort_keys=True, ensure_ascii=False)
