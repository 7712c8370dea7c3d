"""The people and team-members lists cost the same number of queries for 3 rows or 30."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import OrgRole
from accounts.models import Membership
from accounts.tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", ["/people/", "/teams/fraud/members/"])
def test_list_pages_do_not_grow_with_rows(client, path):
    team = TeamFactory(slug="fraud")
    client.force_login(UserFactory(org_role=OrgRole.ADMIN))

    def grow(n):
        for _ in range(n):
            Membership.objects.create(team=team, user=UserFactory(), role="member")

    grow(3)
    _queries(client, path)  # warms what every page caches (the catalogue version, the session)
    few = _queries(client, path)
    grow(27)
    assert _queries(client, path) == few
