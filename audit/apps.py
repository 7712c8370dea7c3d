from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        # After every admin module is loaded (admin's own ready() runs first): no secret in any admin page.
        from .admin_secrets import hide_secrets_in_admin

        hide_secrets_in_admin()
