"""The filters of the projects, assessments and risk acceptances API. Of the pages, the work list of projects
without an approved assessment narrows its `?team=` through `ProjectFilter` (actions/worklists.py); no other
page filters these lists."""

import django_filters

from mlsec_portal.filters import IdFilter

from .choices import AcceptanceStatus, AssessmentStatus, Lifecycle, RiskTier
from .models import Assessment, Project, RiskAcceptance


class ProjectFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug")
    risk_tier = django_filters.ChoiceFilter(choices=RiskTier.choices)
    lifecycle = django_filters.ChoiceFilter(choices=Lifecycle.choices)

    class Meta:
        model = Project
        fields = ["team", "risk_tier", "lifecycle"]


class AssessmentFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    team = django_filters.CharFilter(field_name="project__team__slug")
    status = django_filters.ChoiceFilter(choices=AssessmentStatus.choices)
    cycle = django_filters.CharFilter()

    class Meta:
        model = Assessment
        fields = ["project", "team", "status", "cycle"]


class RiskAcceptanceFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    practice = django_filters.CharFilter(field_name="practice__code")
    status = django_filters.ChoiceFilter(choices=AcceptanceStatus.choices)

    class Meta:
        model = RiskAcceptance
        fields = ["project", "practice", "status"]
