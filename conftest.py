"""Fixtures shared by every test: the catalogue, and a small organisation with one user per role."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from accounts.choices import OrgRole, TeamRole

IN_CI = os.environ.get("CI", "").lower() == "true"

# Real servers on 127.0.0.1 (git daemon, S3, MLflow, OpenID Provider, SMTP, webhooks): tests/servers/README.md
pytest_plugins = ["tests.servers.plugin"]


def require(condition: bool, reason: str) -> None:
    """Skip locally when a service or tool is missing; under CI=true that is a failure, never a skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def database_url() -> str:
    """The test database as a DATABASE_URL, for the processes a test starts (workers, scripts)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _load_catalogue() -> None:
    from checks.services import sync_check_definitions
    from controls.models import Practice
    from controls.services import catalog_load
    from frameworks.loader import frameworks_load
    from frameworks.models import Framework

    if not Practice.objects.exists():
        catalog_load()
        sync_check_definitions()
    if not Framework.objects.exists():
        frameworks_load()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _load_catalogue()


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(
        "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
        or (marker is not None and marker.kwargs.get("transaction"))
    )


@pytest.fixture(autouse=True)
def _catalogue_present(request):
    """Transactional tests flush the database (which re-creates the check definitions, but no
    practices): put the catalogue back, and link the checks to it, before each such test."""
    if _is_transactional(request):
        request.getfixturevalue("transactional_db")
        _load_catalogue()


@pytest.fixture(autouse=True)
def _no_remembered_scorecards():
    """Each process keeps the scorecards it last read (scoring/cache.py): none carried from test to test."""
    from scoring import cache as scorecard_cache

    scorecard_cache.local.clear()


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    """Files outlive a test's rolled-back transaction: give every test a media root of its own."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@dataclass
class Org:
    admin: object
    officer: object
    auditor: object
    lead: object
    member: object
    other_lead: object
    nobody: object
    team: object
    other_team: object
    project: object
    other_project: object

    def users(self) -> dict:
        return {
            "admin": self.admin, "officer": self.officer, "auditor": self.auditor, "lead": self.lead,
            "member": self.member, "other_lead": self.other_lead,
        }


@pytest.fixture
def org(db):
    from accounts.tests.factories import MembershipFactory, TeamFactory, UserFactory
    from assessments.tests.factories import ProjectFactory

    team = TeamFactory(name="Fraud detection", slug="fraud")
    other_team = TeamFactory(name="Recommendations", slug="recs")
    lead, member, other_lead = UserFactory(username="lead"), UserFactory(username="member"), UserFactory(username="other-lead")
    MembershipFactory(team=team, user=lead, role=TeamRole.LEAD)
    MembershipFactory(team=team, user=member, role=TeamRole.MEMBER)
    MembershipFactory(team=other_team, user=other_lead, role=TeamRole.LEAD)
    return Org(
        admin=UserFactory(username="admin", org_role=OrgRole.ADMIN),
        officer=UserFactory(username="officer", org_role=OrgRole.OFFICER),
        auditor=UserFactory(username="auditor", org_role=OrgRole.AUDITOR),
        lead=lead, member=member, other_lead=other_lead,
        nobody=UserFactory(username="nobody"),
        team=team, other_team=other_team,
        project=ProjectFactory(team=team, name="Card fraud scorer", slug="card-fraud"),
        other_project=ProjectFactory(team=other_team, name="Home feed ranker", slug="home-feed"),
    )


@pytest.fixture
def web(client):
    """`web(user)`: the Django test client signed in as `user` (pages, not the API)."""
    def as_user(user):
        client.force_login(user)
        return client

    return as_user


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    def client_for(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return client_for


@pytest.fixture
def team_dir(settings):
    """`team_dir(team)`: a fresh directory inside `team`'s check directory (`<root>/<slug>/<unique>/`),
    the only place a project's file targets may point to."""
    import shutil
    import uuid
    from pathlib import Path

    made = []

    def make(team) -> Path:
        path = Path(settings.MLSEC_CHECK_ROOTS[0]) / team.slug / uuid.uuid4().hex[:12]
        path.mkdir(parents=True)
        made.append(path)
        return path

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)
