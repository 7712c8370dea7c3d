from django.db import models


class OrgRole(models.TextChoices):
    ADMIN = "admin", "Administrator"
    OFFICER = "officer", "Security officer"
    AUDITOR = "auditor", "Auditor"
    NONE = "none", "None"


class IdentitySource(models.TextChoices):
    LOCAL = "local", "Portal account"
    SSO = "sso", "Single sign-on"
    SCIM = "scim", "SCIM provisioning"


class MembershipSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    SSO = "sso", "SSO group rule"
    SCIM = "scim", "SCIM group rule"


class TeamRole(models.TextChoices):
    LEAD = "lead", "Lead"
    MEMBER = "member", "Member"


# Roles that see every team's objects.
ORG_WIDE_ROLES = frozenset({OrgRole.ADMIN, OrgRole.OFFICER, OrgRole.AUDITOR})
# Roles that must use a second factor when MLSEC_REQUIRE_MFA is on.
MFA_REQUIRED_ROLES = ORG_WIDE_ROLES
