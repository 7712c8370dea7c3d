"""The one place that decides who may see what.

Every model whose objects belong to a team has a queryset deriving from `ScopedQuerySet`, which
names the path from the model to its team. Pages and API views start every query with
`.visible_to(request.user)`; objects outside the result answer 404, never 403, so scope leaks
nothing about existence.
"""

from __future__ import annotations

from django.db import models


def member_team_ids(user):
    """Subquery of the ids of the teams `user` belongs to (as lead or member)."""
    from .models import Membership

    return Membership.objects.filter(user_id=user.pk).values("team_id")


class ScopedQuerySet(models.QuerySet):
    #: Django lookup path from this model to its team's primary key.
    team_path: str = "team"

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.sees_everything:
            return self
        return self.filter(**{f"{self.team_path}__in": member_team_ids(user)})
