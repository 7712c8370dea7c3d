"""Shared by `GET /api/v1/audit-events/` and the audit log page (audit/views.py): the same query parameters."""

import django_filters

from .models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_username", help_text="username")
    action = django_filters.CharFilter(lookup_expr="startswith", help_text="e.g. assessment. or evidence.add")
    object_type = django_filters.CharFilter(help_text="e.g. assessments.project")
    object_id = django_filters.CharFilter()
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", help_text="YYYY-MM-DD")
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", help_text="YYYY-MM-DD")

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "object_type", "object_id", "since", "until"]
