"""The work lists narrow `?team=` through the API's own FilterSets, where the rows have one (issue 13)."""

from actions.filtersets import ActionFilter
from actions.worklists import WORK_LISTS, work_list_rows
from assessments.filtersets import ProjectFilter
from checks.filtersets import CheckRunFilter


def test_each_work_list_narrows_by_team_through_the_filterset_of_its_rows_or_says_where_its_team_is():
    expected = {"open-actions": ActionFilter, "overdue-actions": ActionFilter, "failing-checks": CheckRunFilter,
                "projects-without-approval": ProjectFilter}
    for slug, work in WORK_LISTS.items():
        assert work.filterset is expected.get(slug), slug
        assert bool(work.team_path) != bool(work.filterset), slug  # one way to narrow, never two
        if work.filterset is not None:
            assert "team" in work.filterset.base_filters


def test_a_team_narrows_the_same_rows_as_the_api_filter(org):
    from assessments.models import Project

    work = WORK_LISTS["projects-without-approval"]
    rows = list(work_list_rows(work, org.officer, team=org.team.slug))
    api = ProjectFilter({"team": org.team.slug}, queryset=Project.objects.all()).qs
    assert rows and {p.pk for p in rows} <= set(api.values_list("pk", flat=True))
    assert all(p.team_id == org.team.pk for p in rows)
