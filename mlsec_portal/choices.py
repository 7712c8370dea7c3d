"""Choices whose members carry their colour: the CSS modifier of a status badge (`badge-<modifier>`)."""

from __future__ import annotations

from django.db import models


class BadgeChoices(models.TextChoices):
    """`TextChoices` that declare, once, the badge colour of each value: `__badges__ = {"draft": "neutral", …}`.

    `Status.DRAFT.badge` or `Status.badge_for(obj.status)` read it (a value a database row holds is a plain
    string); the models' `badge` properties and so the templates (`badge-{{ obj.badge }}`) go through it, so
    no template or view maps a status to a colour.
    """

    __badges__: dict[str, str] = {}

    @property
    def badge(self) -> str:
        return type(self).__badges__[self.value]

    @classmethod
    def badge_for(cls, value) -> str:
        return cls(value).badge
