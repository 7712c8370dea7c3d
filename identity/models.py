"""Identity providers (OpenID Connect), the group rules that map their groups to roles and teams,
the links between provider subjects and portal users, SCIM tokens and resources, and invitations."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django_otp.models import Device

from accounts.choices import OrgRole, TeamRole
from accounts.models import Team, slug_validator

from .crypto import seal, unseal

DEFAULT_SCOPES = "openid email profile groups"


class IdentityProvider(models.Model):
    """An OpenID Provider people sign in through; its endpoints come from discovery."""

    slug = models.SlugField(max_length=40, unique=True, validators=[slug_validator])
    label = models.CharField(max_length=80, help_text="The text of the sign-in button, e.g. “Sign in with Okta”.")
    issuer = models.URLField(max_length=300, help_text="Discovery is read from <issuer>/.well-known/openid-configuration.")
    client_id = models.CharField(max_length=200)
    client_secret_sealed = models.TextField(blank=True, editable=False)
    scopes = models.CharField(max_length=300, default=DEFAULT_SCOPES)
    groups_claim = models.CharField(max_length=80, default="groups")
    mfa_amr = models.CharField(
        max_length=200, blank=True,
        help_text="`amr` values that prove multi-factor sign-in (space-separated, e.g. “mfa hwk”). Empty: always ask for the portal's TOTP.")
    mfa_acr = models.CharField(max_length=300, blank=True,
                               help_text="`acr` values that prove multi-factor sign-in (space-separated).")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label

    @property
    def client_secret(self) -> str:
        return unseal(self.client_secret_sealed)

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_sealed = seal(value)


class GroupRule(models.Model):
    """A provider group (an OIDC groups claim value, or a SCIM group's display name) and what it grants:
    an organisation role, or a team membership as lead or member."""

    group = models.CharField(max_length=200, db_index=True)
    org_role = models.CharField(max_length=16, choices=OrgRole.choices, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="group_rules")
    team_role = models.CharField(max_length=8, choices=TeamRole.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "pk"]
        constraints = [
            models.CheckConstraint(
                name="group_rule_grants_one_thing",
                condition=(models.Q(team__isnull=True, team_role="") & ~models.Q(org_role=""))
                | (models.Q(team__isnull=False, org_role="") & ~models.Q(team_role="")),
            ),
        ]

    def __str__(self) -> str:
        grant = f"role {self.org_role}" if self.org_role else f"{self.team_role} of {self.team}"
        return f"{self.group} → {grant}"


class ExternalIdentity(models.Model):
    """A provider's subject (`iss`, `sub`), linked to the portal user it signs in as."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities")
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    last_sign_in = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="external_identity_unique")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class IdentityProviderMFA(Device):
    """Stands for the provider's proof of multi-factor sign-in (`amr` / `acr`) in django-otp.

    Signing in through a provider whose token proves MFA logs this device in, so `is_verified()` holds
    for the session exactly as after a TOTP code. It verifies no code (`verify_token` is always False)
    and is not an authenticator the user holds (accounts.mfa.has_confirmed_device ignores it).
    """

    def verify_token(self, token) -> bool:
        return False


class ScimToken(models.Model):
    """A bearer token for /scim/v2/: only its SHA-256 is stored; it reaches SCIM and nothing else."""

    name = models.CharField(max_length=120)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"SCIM token “{self.name}”"

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class ScimResource(models.Model):
    """The SCIM representation of a provisioned user or group, as the provider last wrote it."""

    resource_type = models.CharField(max_length=40)
    scim_id = models.CharField(max_length=64, unique=True)
    data = models.JSONField()
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="scim_resource")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.resource_type} {self.scim_id}"


class Invitation(models.Model):
    """A single-use, expiring link by e-mail to create a portal account; only the key's SHA-256 is kept."""

    email = models.EmailField()
    org_role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.NONE)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
