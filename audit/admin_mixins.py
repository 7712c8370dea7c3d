"""Make every change made through the Django admin an audit event.

The values recorded are the model's fields as a dict; `audit_record` masks the secret ones (a
password hash, a device key) before anything is written.
"""

from __future__ import annotations

from django.db import transaction
from django.forms.models import model_to_dict

from .services import _json_safe, audit_record, diff


class AuditedAdminMixin:
    def save_model(self, request, obj, form, change):
        before = {}
        if change and obj.pk:
            original = type(obj).objects.filter(pk=obj.pk).first()
            before = _json_safe(model_to_dict(original)) if original else {}
        super().save_model(request, obj, form, change)
        after = _json_safe(model_to_dict(obj))
        if change:
            before, after = diff(before, after)
        action = f"{obj._meta.model_name}.{'change' if change else 'create'}"
        audit_record(actor=request.user, action=f"admin:{action}", obj=obj, before=before or None, after=after)

    def delete_model(self, request, obj):
        before = _json_safe(model_to_dict(obj))
        label, pk, text = obj._meta.label_lower, obj.pk, str(obj)
        super().delete_model(request, obj)
        # `obj` (still in memory) lets audit_record mask its secrets wherever they appear (a token's id is the token).
        audit_record(
            actor=request.user, action=f"admin:{obj._meta.model_name}.delete", obj=obj,
            object_type=label, object_id=str(pk), object_repr=text, before=before,
        )

    def delete_queryset(self, request, queryset):
        with transaction.atomic():  # the admin's "delete selected" action opens none: all deleted and audited, or none
            for obj in queryset:
                self.delete_model(request, obj)


class ReadOnlyAdminMixin:
    """An admin that only shows: its rows change elsewhere (through the portal, audited, or from data files)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
