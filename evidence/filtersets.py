"""The filters of `GET /api/v1/evidence/`. The evidence work lists (actions/worklists.py) narrow by `?team=`
along the project's team themselves: this FilterSet has no team filter."""

import django_filters

from mlsec_portal.filters import IdFilter

from .models import Evidence, EvidenceKind, EvidenceStatus


class EvidenceFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    practice = django_filters.CharFilter(field_name="practice__code")
    kind = django_filters.ChoiceFilter(choices=EvidenceKind.choices)
    status = django_filters.ChoiceFilter(choices=EvidenceStatus.choices)
    current = django_filters.BooleanFilter(field_name="superseded_at", lookup_expr="isnull",
                                           label="only the newest version of each piece of evidence")

    class Meta:
        model = Evidence
        fields = ["project", "practice", "kind", "status", "current"]
