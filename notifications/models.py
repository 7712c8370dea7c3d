"""Notifications: what happened (Dispatch), who reads it in the portal (Notification), what must still
be delivered (OutboxMessage), and how each person and team wants to hear (preferences, team channels).

Outbox rows are written in the transaction of the change they report, so a rolled-back change sends
nothing and a committed one is never lost: a worker delivers them later, retrying with backoff while a
mail server or webhook is down.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Team
from accounts.scope import ScopedQuerySet

from .choices import TEAM_CHANNEL_KINDS, Channel, Delivery, OutboxStatus


class Dispatch(models.Model):
    """One event that happened, once: `notify()` writes it, the other rows hang off it.

    `dedupe_key` makes a daily reminder idempotent: the same key is never dispatched twice.
    """

    event = models.CharField(max_length=40, db_index=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    title = models.CharField(max_length=300)
    body = models.TextField(max_length=8000)
    path = models.CharField(max_length=500, blank=True)
    context = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event}: {self.title}"

    @property
    def url(self) -> str:
        return settings.MLSEC_BASE_URL.rstrip("/") + (self.path or "/")


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A person's notifications are theirs alone, whatever their role; a team's news only while they are
        in that team (as the digests do): someone who left a team no longer reads about it in the portal."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        mine = self.filter(recipient_id=user.pk)
        if user.sees_everything:
            return mine
        return mine.filter(models.Q(dispatch__team__isnull=True) | models.Q(dispatch__team_id__in=list(user.team_roles())))

    def unread(self):
        return self.filter(read_at__isnull=True)

    def for_list(self):
        return self.select_related("dispatch").order_by("-dispatch__created_at", "-pk")


class Notification(models.Model):
    """An entry in one person's in-portal list, read or not."""

    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dispatch", "recipient"], name="notification_once_per_person")]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return f"{self.dispatch.title} → {self.recipient}"


class OutboxMessage(models.Model):
    """One delivery to one person (e-mail) or one team channel, tried until it succeeds or gives up.

    `key` is sent with the message (Message-ID, `X-MLSec-Delivery`) so a receiver can drop a repeat, and
    a worker claims a row with a conditional UPDATE, so two workers never send the same row.
    """

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dispatch = models.ForeignKey(Dispatch, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="+")
    team_channel = models.ForeignKey("TeamChannel", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="outbox")
    folded_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="parts")
    subject = models.CharField(max_length=300, blank=True)  # a digest's own text (no dispatch)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)  # coarse: never a URL, a secret or a body
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} ({self.status})"


class Preference(models.Model):
    """How one person wants one kind of event by e-mail; no row means immediately."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences")
    event = models.CharField(max_length=40)
    delivery = models.CharField(max_length=9, choices=Delivery.choices, default=Delivery.IMMEDIATE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "event"], name="preference_once_per_event")]

    def __str__(self) -> str:
        return f"{self.user} {self.event}: {self.delivery}"


class TeamChannelQuerySet(ScopedQuerySet):
    team_path = "team"

    def active(self):
        return self.filter(active=True)


class TeamChannel(models.Model):
    """Where a team's news goes besides people's mail: a Slack or Teams incoming webhook, or a signed JSON
    webhook. The URL (Slack's and Teams' carry their own secret) and the signing secret are stored
    encrypted and never shown again once saved."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="notification_channels")
    kind = models.CharField(max_length=8, choices=[(k.value, k.label) for k in TEAM_CHANNEL_KINDS])
    name = models.CharField(max_length=80)
    url_encrypted = models.BinaryField()
    url_hint = models.CharField(max_length=200)  # scheme and host: what the pages show
    secret_encrypted = models.BinaryField(blank=True, default=b"")
    events = models.JSONField(default=list, blank=True)  # event keys; empty means every event
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamChannelQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "name", "pk"]

    def __str__(self) -> str:
        return f"{self.team} {self.get_kind_display()}: {self.name}"

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    @staticmethod
    def can_be_managed_by(user, team: Team) -> bool:
        """Team leads of that team, security officers and administrators (not auditors, not members)."""
        return user.is_org_admin or user.is_officer or user.is_lead_of(team.pk)
