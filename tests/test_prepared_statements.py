"""PostgreSQL prepares the portal's repeated queries (settings `DATABASE_PREPARE_THRESHOLD`, psycopg 3).

Planning cost PostgreSQL as much as executing did under the load test (docs/performance.md, 2026-12-04):
with server-side binding a query's text is the same whatever its values, and psycopg prepares it once a
connection has run it the threshold's number of times.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from accounts.models import Team

ROOT = Path(__file__).resolve().parent.parent


def database_options(*, without_psycopg3: bool = False, **env) -> dict:
    """The default database's OPTIONS as the settings build them from this environment (no connection)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    environment.update({"DJANGO_SETTINGS_MODULE": "mlsec_portal.settings.base", **env})
    hide = "import sys; sys.modules['psycopg'] = None; " if without_psycopg3 else ""  # import psycopg fails
    result = subprocess.run(
        [sys.executable, "-c", hide + "import json; from django.conf import settings; "
                                      "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    if result.returncode:
        return {"error": result.stderr}
    return json.loads(result.stdout)


def test_postgresql_binds_on_the_server_and_prepares_after_five_runs_by_default():
    assert database_options(DATABASE_URL="postgres://u@db:5432/mlsec") == {
        "server_side_binding": True, "prepare_threshold": 5}
    assert database_options(DATABASE_URL="postgres://u@db:5432/mlsec", DATABASE_PREPARE_THRESHOLD="2") == {
        "server_side_binding": True, "prepare_threshold": 2}


def test_a_pooler_that_shares_sessions_can_turn_preparing_off():
    assert database_options(DATABASE_URL="postgres://u@db:5432/mlsec", DATABASE_PREPARE_THRESHOLD="off") == {
        "server_side_binding": True, "prepare_threshold": None}


def test_a_threshold_that_is_not_a_count_refuses_to_start():
    for bad in ("five", "-1", "2.5"):
        options = database_options(DATABASE_URL="postgres://u@db:5432/mlsec", DATABASE_PREPARE_THRESHOLD=bad)
        assert "DATABASE_PREPARE_THRESHOLD is a count of runs" in options.get("error", ""), bad


def test_a_virtualenv_with_only_psycopg2_still_connects_without_the_psycopg3_options():
    """Django passes `prepare_threshold` to the driver, and psycopg2 refuses an option it does not know."""
    assert database_options(without_psycopg3=True, DATABASE_URL="postgres://u@db:5432/mlsec") == {}
    options = database_options(without_psycopg3=True, DATABASE_URL="postgres://u@db:5432/mlsec",
                               DATABASE_PREPARE_THRESHOLD="five")
    assert "DATABASE_PREPARE_THRESHOLD is a count of runs" in options.get("error", "")  # still validated


def test_sqlite_keeps_its_own_options():
    options = database_options(DATABASE_URL="sqlite:////tmp/x.sqlite3")
    assert "server_side_binding" not in options and "prepare_threshold" not in options


@pytest.mark.django_db
def test_the_same_query_with_other_values_runs_as_one_prepared_statement():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's; SQLite has no planner to spare")
    threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    assert threshold is not None, "DATABASE_PREPARE_THRESHOLD=off in this environment: nothing is prepared"
    Team.objects.create(name="Prepared", slug="prepared")

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                           ['%"accounts_team"."slug" = $1%'])
            return [row[0] for row in cursor.fetchall()]

    for run in range(threshold):
        list(Team.objects.filter(slug=f"not-there-{run}"))
    assert prepared() == [], "prepared before the threshold"
    assert [team.name for team in Team.objects.filter(slug="prepared")] == ["Prepared"]  # a sixth run, other values
    statements = prepared()
    assert len(statements) == 1 and "$1" in statements[0] and "'prepared'" not in statements[0]
