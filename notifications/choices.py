"""Choices of the notifications app: how a person wants each kind of news, where a team's news goes."""

from django.db import models


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DIGEST = "digest", "In a daily digest"
    OFF = "off", "Off"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    WEBHOOK = "webhook", "Signed JSON webhook"


#: The kinds a team may configure (e-mail goes to people, through their preferences).
TEAM_CHANNEL_KINDS = (Channel.SLACK, Channel.TEAMS, Channel.WEBHOOK)


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    HELD = "held", "Held for the daily digest"
    DIGESTED = "digested", "Sent in a digest"
    FAILED = "failed", "Gave up"
