import django_filters

from mlsec_portal.filters import IdFilter

from .choices import RunStatus
from .models import CheckRun


class CheckRunFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    check = django_filters.CharFilter(field_name="definition_id")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = CheckRun
        fields = ["project", "check", "status"]
