from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """The Django admin on `accounts.admin_site.PortalAdminSite`: the portal's sign-in and second factor."""

    default_site = "accounts.admin_site.PortalAdminSite"
