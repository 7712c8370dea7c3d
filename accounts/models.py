"""People and their scope: users with an organisation role, teams, and team memberships."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from knox.models import AbstractAuthToken

from .choices import MFA_REQUIRED_ROLES, ORG_WIDE_ROLES, OrgRole, TeamRole
from .scope import ScopedQuerySet

slug_validator = RegexValidator(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", "Use lower-case letters, digits and single hyphens.")


class User(AbstractUser):
    """A person. `org_role` grants organisation-wide powers; team powers come from memberships."""

    org_role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.NONE)

    objects = UserManager()

    class Meta:
        ordering = ["username"]

    @property
    def effective_role(self) -> str:
        return OrgRole.ADMIN if self.is_superuser else self.org_role

    @property
    def sees_everything(self) -> bool:
        return self.effective_role in ORG_WIDE_ROLES

    @property
    def is_org_admin(self) -> bool:
        return self.effective_role == OrgRole.ADMIN

    @property
    def is_officer(self) -> bool:
        return self.effective_role == OrgRole.OFFICER

    @property
    def is_auditor(self) -> bool:
        return self.effective_role == OrgRole.AUDITOR

    @property
    def requires_mfa(self) -> bool:
        # Staff reach the Django admin, so they need a second factor whatever their organisation role.
        return settings.MLSEC_REQUIRE_MFA and (self.effective_role in MFA_REQUIRED_ROLES or self.is_staff)

    def team_roles(self) -> dict[int, str]:
        """{team_id: role} for this user's memberships, loaded once per user object."""
        if not hasattr(self, "_team_roles_cache"):
            self._team_roles_cache = dict(self.memberships.values_list("team_id", "role"))
        return self._team_roles_cache

    def role_in(self, team_id: int) -> str | None:
        return self.team_roles().get(team_id)

    def is_lead_of(self, team_id: int) -> bool:
        return self.role_in(team_id) == TeamRole.LEAD

    def belongs_to(self, team_id: int) -> bool:
        return self.role_in(team_id) is not None


class TeamQuerySet(ScopedQuerySet):
    team_path = "pk"


class Team(models.Model):
    """A group that builds and runs ML systems; projects and their assessments belong to it."""

    slug = models.SlugField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def can_be_created_by(user) -> bool:
        return user.is_org_admin or user.is_officer

    def can_be_managed_by(self, user) -> bool:
        """Edit the team and its memberships: administrators and security officers."""
        return user.is_org_admin or user.is_officer


class MembershipQuerySet(ScopedQuerySet):
    team_path = "team"


class Membership(models.Model):
    """A user's place in a team: a lead submits the team's assessments, members fill them in."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=TeamRole.choices, default=TeamRole.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "role", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.team}"


class APIToken(AbstractAuthToken):
    """An API token (django-rest-knox): only a SHA-512 digest of the key is stored, never the key.

    `mfa_verified` records whether a second factor was given when the token was issued. A token
    without one, for a user whose role requires MFA, reaches only the enrolment endpoints; it never
    becomes a full token (completing enrolment revokes it: accounts/signals.py).
    """

    mfa_verified = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        # Never the digest or the key prefix: a token is named by its owner and age only.
        return f"API token of {self.user} issued {self.created:%Y-%m-%d %H:%M}"
