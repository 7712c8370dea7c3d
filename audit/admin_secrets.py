"""Second-factor devices and API tokens in the Django admin: who has one, never what it is.

An administrator can see that a user has an authenticator or recovery codes, and delete them so
the user enrols again (a lost phone); nobody can read a TOTP key, a QR code, a recovery code or a
token there, nor create a device or a token for someone else (that would let an administrator
pass another person's second factor). Every deletion is an audit event.

The libraries register their own admins; once every admin module is loaded (`AuditConfig.ready`),
`hide_secrets_in_admin` replaces each of them with a subclass that keeps their lists and filters
and drops the secret fields, the QR code views and the recovery-code inline.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from .admin_mixins import AuditedAdminMixin
from .redaction import is_secret_name

# Admins replaced by a view-only, secret-free version; tokens are not even listed (their text is the secret).
DEVICE_MODELS = frozenset({"otp_totp.totpdevice", "otp_hotp.hotpdevice", "otp_static.staticdevice", "knox.authtoken"})
TOKEN_MODELS = frozenset({"authtoken.tokenproxy", "authtoken.token", "otp_static.statictoken"})


class SecretsHiddenAdmin(AuditedAdminMixin):
    """View and delete only; no field, column or inline that could carry the secret."""

    def _visible(self, names, obj=None):
        label = self.model._meta.label_lower
        return [n for n in names if not (isinstance(n, str) and is_secret_name(n, label))]

    def get_fieldsets(self, request, obj=None):
        return [(title, {**options, "fields": self._visible(options.get("fields", ()))})
                for title, options in super().get_fieldsets(request, obj)]

    def get_list_display(self, request):
        return [n for n in self._visible(super().get_list_display(request)) if n != "qrcode_link"]

    def get_readonly_fields(self, request, obj=None):
        return [n for n in self._visible(super().get_readonly_fields(request, obj)) if n != "qrcode_link"]

    def get_inline_instances(self, request, obj=None):
        return []  # the recovery-code inline lists the codes themselves

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def config_view(self, request, pk):
        raise PermissionDenied

    def qrcode_view(self, request, pk):
        raise PermissionDenied


def hide_secrets_in_admin(site: admin.AdminSite = admin.site) -> None:
    for model, model_admin in list(site._registry.items()):
        label = model._meta.label_lower
        if label in TOKEN_MODELS:
            site.unregister(model)
        elif label in DEVICE_MODELS and not isinstance(model_admin, SecretsHiddenAdmin):
            site.unregister(model)
            hidden = type(f"SecretsHidden{type(model_admin).__name__}", (SecretsHiddenAdmin, type(model_admin)), {})
            site.register(model, hidden)
