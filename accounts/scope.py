"""The one place that decides who may see what.

Every model whose objects belong to a team has a queryset deriving from `ScopedQuerySet`, which
names the path from the model to its team; `.visible_to(user)` is the rule. Views never call it
themselves: viewsets get their queryset already scoped from `ScopedViewSetMixin`, other views go
through `scoped(request, …)` / `get_scoped_or_404(request, …)` and are marked (`@scoped_view`,
`ScopedView`), and tests/test_scope_once.py fails on any URL whose view is neither marked nor on its
allow-list. Objects outside the scope answer 404, never 403, so scope leaks nothing about existence.
See docs/roles.md, "How scope is applied".
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


# How views apply the rule (one mechanism for every app): mlsec_portal/scope.py.
from mlsec_portal.scope import (  # noqa: E402, F401 - re-exported: views import them from here
    SCOPE_MARK,
    ScopedView,
    ScopedViewSetMixin,
    get_scoped_or_404,
    scoped,
    scoped_view,
    view_is_scoped,
)
