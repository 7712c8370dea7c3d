"""The outbox in the admin, read-only: what is waiting, what failed and why (coarse reasons only).

Team channels are managed on the team's page and through the API, where their URL and secret are
write-only; they are not in the admin, so no admin form ever shows or logs them.
"""

from django.contrib import admin

from audit.admin_mixins import ReadOnlyAdminMixin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "channel", "status", "attempts", "next_attempt_at", "sent_at", "last_error", "created_at")
    list_filter = ("status", "channel")
    fields = ("key", "dispatch", "channel", "recipient", "team_channel", "folded_into", "status", "attempts",
              "next_attempt_at", "claimed_at", "sent_at", "last_error", "created_at")
    readonly_fields = fields
