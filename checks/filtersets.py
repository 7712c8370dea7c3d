import django_filters

from mlsec_portal.filters import IdFilter

from .choices import RunStatus
from .models import CheckRun


class CheckRunFilter(django_filters.FilterSet):
    """Shared by `GET /api/v1/check-runs/`, the check runs page and the `?team=` of the failing-checks work list."""

    project = IdFilter(field_name="project_id")
    check = django_filters.CharFilter(field_name="definition_id")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    team = django_filters.CharFilter(field_name="project__team__slug", label="Team")
    current = django_filters.BooleanFilter(method="filter_current", label="Only the verdicts in force")

    class Meta:
        model = CheckRun
        fields = ["project", "check", "status", "team", "current"]

    def filter_current(self, queryset, name, value):
        # A verdict in force is not superseded and belongs to a project still in the scores.
        if value:
            return queryset.filter(superseded_at__isnull=True, project__archived_at__isnull=True)
        return queryset
