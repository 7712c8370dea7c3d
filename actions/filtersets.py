"""The filters of actions: `GET /api/v1/actions/`, and the `?team=` of the open and overdue actions work lists
(pages and their CSV, actions/worklists.py), which narrow through this FilterSet's `team`."""

import django_filters
from django.utils import timezone

from mlsec_portal.filters import IdFilter

from .choices import OPEN_STATUSES, ActionSource, ActionStatus
from .models import Action


class ActionFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    team = django_filters.CharFilter(field_name="project__team__slug")
    practice = django_filters.CharFilter(field_name="practice__code")
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices)
    source = django_filters.ChoiceFilter(choices=ActionSource.choices)
    open = django_filters.BooleanFilter(method="filter_open", label="only open and in-progress actions")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="only open actions past their due date")
    owner = django_filters.CharFilter(method="filter_owner", label="a user id, or `me`")

    class Meta:
        model = Action
        fields = ["project", "team", "practice", "status", "source", "open", "overdue", "owner"]

    def filter_open(self, queryset, name, value):
        return queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)

    def filter_overdue(self, queryset, name, value):
        today = timezone.localdate()
        return queryset.overdue(today) if value else queryset.exclude(pk__in=Action.objects.overdue(today).values("pk"))

    def filter_owner(self, queryset, name, value):
        if value == "me":
            return queryset.filter(owner_id=getattr(self.request, "user", None) and self.request.user.pk)
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(owner_id=int(value))
