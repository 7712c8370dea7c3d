"""People and their scope: users with an organisation role, teams, and team memberships."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from knox.models import AbstractAuthToken

from .choices import MFA_REQUIRED_ROLES, ORG_WIDE_ROLES, IdentitySource, MembershipSource, OrgRole, TeamRole
from .scope import ScopedQuerySet

slug_validator = RegexValidator(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", "Use lower-case letters, digits and single hyphens.")


class User(AbstractUser):
    """A person. `org_role` grants organisation-wide powers; team powers come from memberships."""

    org_role = models.CharField(max_length=16, choices=OrgRole.choices, default=OrgRole.NONE)
    # Where the account comes from: a provider-managed account gets its role from group rules.
    identity_source = models.CharField(max_length=8, choices=IdentitySource.choices, default=IdentitySource.LOCAL)

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
        """{team_id: role} for this user's memberships, loaded once per user object.

        An auditor's memberships grant nothing: auditors stay read-only whatever teams they are put
        in, and every team power (editing, submitting, uploading, running checks, proposing) comes
        from here.
        """
        if self.is_auditor:
            return {}
        if not hasattr(self, "_team_roles_cache"):
            self._team_roles_cache = dict(self.memberships.values_list("team_id", "role"))
        return self._team_roles_cache

    def team_history(self) -> list[tuple[int, dt.datetime | None]]:
        """(team id, end or None if current) of every membership this user holds or held; one query, cached."""
        if not hasattr(self, "_team_history_cache"):
            current = Membership.objects.filter(user_id=self.pk).order_by().annotate(
                ended=models.Value(None, output_field=models.DateTimeField())).values_list("team_id", "ended")
            past = MembershipPeriod.objects.filter(user_id=self.pk).order_by().values_list("team_id", "ended_at")
            self._team_history_cache = list(current.union(past, all=True))
        return self._team_history_cache

    def belonged_to(self, team_id: int, since: dt.datetime) -> bool:
        """Whether this user was in the team at any moment from `since` until now (auditors included)."""
        return any(team == team_id and (ended is None or ended >= since) for team, ended in self.team_history())

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

    def can_add_project(self, user) -> bool:
        """Add a project to this team: its lead, security officers and administrators."""
        return user.is_org_admin or user.is_officer or user.is_lead_of(self.pk)

    def membership_change_refusal(self, actor, user) -> str | None:
        """Why `actor` may not add, change or remove `user`'s membership of this team (None: they may).

        Nobody changes their own memberships: an officer who could leave a team and review it, or join
        one and edit it, would decide both sides of the separation of duties.
        """
        if not self.can_be_managed_by(actor):
            return "Only administrators and security officers manage team memberships."
        if user is not None and actor.pk is not None and actor.pk == getattr(user, "pk", user):
            return "Nobody adds, changes or removes their own team membership: ask another officer or administrator."
        return None


class MembershipQuerySet(ScopedQuerySet):
    team_path = "team"


class Membership(models.Model):
    """A user's place in a team: a lead submits the team's assessments, members fill them in."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=TeamRole.choices, default=TeamRole.MEMBER)
    # A membership made by a group rule (SSO or SCIM) is the provider's: manual edits are refused.
    source = models.CharField(max_length=8, choices=MembershipSource.choices, default=MembershipSource.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "role", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.team}"


class MembershipPeriod(models.Model):
    """A span of time during which a user was in a team, kept when the membership ends.

    Separation of duties asks whether a reviewer belonged to the team while the work was done, not
    only whether they belong to it today. Written by the signal handlers below, whatever changes a
    membership (services, the admin, a cascade).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="membership_periods")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="membership_periods")
    role = models.CharField(max_length=8, choices=TeamRole.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "team", "started_at"]
        indexes = [models.Index(fields=["user", "team"], name="period_user_team_idx")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.team} from {self.started_at:%Y-%m-%d}"

    @classmethod
    def record_membership(cls, membership: Membership) -> None:
        """Open a period for a new membership, or a new one when its role changes."""
        open_period = cls.objects.filter(team_id=membership.team_id, user_id=membership.user_id,
                                         ended_at__isnull=True).first()
        if open_period is not None and open_period.role == membership.role:
            return
        now = timezone.now()
        if open_period is not None:
            open_period.ended_at = now
            open_period.save(update_fields=["ended_at"])
        cls.objects.create(team_id=membership.team_id, user_id=membership.user_id, role=membership.role,
                           started_at=membership.created_at if open_period is None else now)

    @classmethod
    def close_membership(cls, membership: Membership) -> None:
        """End the open period; a membership created without one (a bulk load) gets a closed one."""
        now = timezone.now()
        closed = cls.objects.filter(team_id=membership.team_id, user_id=membership.user_id,
                                    ended_at__isnull=True).update(ended_at=now)
        if not closed:
            cls.objects.create(team_id=membership.team_id, user_id=membership.user_id, role=membership.role,
                               started_at=membership.created_at or now, ended_at=now)


@receiver(post_save, sender=Membership, dispatch_uid="membership_period_open")
def _membership_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        MembershipPeriod.record_membership(instance)


@receiver(post_delete, sender=Membership, dispatch_uid="membership_period_close")
def _membership_deleted(sender, instance, origin=None, **kwargs):
    gone = origin.model if isinstance(origin, models.QuerySet) else type(origin)
    if gone in (User, Team):
        return  # the person or the team itself is deleted, and its history with it
    MembershipPeriod.close_membership(instance)


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
