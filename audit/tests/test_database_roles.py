"""The role set-up of docs/deployment.md: an owner runs migrations, the application's role may only append to the trail.

Runs on PostgreSQL (CI); roles do not exist in SQLite, so locally on SQLite it is skipped, and under
CI=true (PostgreSQL) it always runs. Roles are created inside the test's transaction: the rollback
at the end removes them, and their names are random so parallel test databases never collide.
"""

import io
import secrets

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from assessments import services
from audit.models import AuditEvent
from audit.services import verify_chain
from conftest import require


def run(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def refused(sql: str) -> str:
    """Run `sql` in a savepoint and return PostgreSQL's refusal (the test fails if it is allowed)."""
    try:
        with transaction.atomic():
            run(sql)
    except DatabaseError as exc:
        return str(exc)
    pytest.fail(f"the application role was allowed to: {sql}")


@pytest.fixture
def roles(db):
    require(connection.vendor == "postgresql", "database roles exist on PostgreSQL only (CI runs this on PostgreSQL)")
    suffix = secrets.token_hex(4)
    owner, app = f"mlsec_owner_{suffix}", f"mlsec_app_{suffix}"
    run(f"CREATE ROLE {owner} NOLOGIN")
    run(f"CREATE ROLE {app} NOLOGIN")
    run(f"GRANT USAGE, CREATE ON SCHEMA public TO {owner}")
    run("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks may block ALTER TABLE
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    for table in tables:  # as after `migrate` run by the owner
        run(f"ALTER TABLE {connection.ops.quote_name(table)} OWNER TO {owner}")
    yield owner, app
    run("RESET ROLE")


def test_the_application_role_can_only_append_to_and_read_the_audit_trail(org, roles):
    owner, app = roles
    run(f"SET LOCAL ROLE {owner}")
    call_command("grant_app_role", app)
    run(f"SET LOCAL ROLE {app}")

    # The application still works: a change and its audit event, in one transaction.
    project = services.project_create(actor=org.lead, team=org.team, name="Chargeback predictor", slug="chargebacks")
    services.project_update(actor=org.lead, project=project, risk_tier="high")
    assert AuditEvent.objects.filter(action="project.update", object_id=str(project.pk)).exists()
    assert verify_chain().ok

    assert "permission denied" in refused("UPDATE audit_auditevent SET object_repr = 'x' WHERE seq = 1")
    # The chain columns it may fill in when sealing a waiting event; never those of a chained one.
    assert "append-only" in refused("UPDATE audit_auditevent SET seq = 1000, hash = 'x' WHERE seq = 1")
    assert "permission denied" in refused("DELETE FROM audit_auditevent WHERE seq = 1")
    assert "permission denied" in refused("TRUNCATE audit_auditevent")
    assert "must be owner" in refused("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
    assert "must be owner" in refused("DROP TRIGGER audit_event_append_only ON audit_auditevent")
    assert "permission denied" in refused("DELETE FROM django_migrations")
    run("RESET ROLE")
    assert verify_chain().ok


def test_the_web_containers_start_up_steps_succeed_as_the_application_role_once_the_owner_migrated(roles):
    """docker/entrypoint.sh runs `migrate` and `load_catalog` before serving: as the application role,
    after the owner's migrate, neither has a table to create, so the web service still starts."""
    owner, app = roles
    run(f"SET LOCAL ROLE {owner}")
    call_command("grant_app_role", app)
    run(f"SET LOCAL ROLE {app}")
    with transaction.atomic():
        call_command("migrate", "--noinput", verbosity=0)
        call_command("load_catalog", stdout=io.StringIO())
    assert "must be owner" in refused("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")


def test_the_role_command_prints_its_statements_and_refuses_the_owner_itself(roles):
    owner, app = roles
    run(f"SET LOCAL ROLE {owner}")
    out = io.StringIO()
    call_command("grant_app_role", app, "--print-sql", stdout=out)
    assert "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON \"audit_auditevent\"" in out.getvalue()
    with pytest.raises(CommandError, match="must not be the owner"):
        call_command("grant_app_role", owner)
    with pytest.raises(CommandError, match="no role"):
        call_command("grant_app_role", "nobody_by_that_name")


def test_the_application_role_seals_waiting_events(org, roles):
    """Sealing (audit/services.py) fills in the chain columns of a committed event that waited: the one UPDATE
    the application role may make on the trail."""
    from django.utils import timezone

    from audit import chain
    from audit.services import seal_pending

    owner, app = roles
    run(f"SET LOCAL ROLE {owner}")
    call_command("grant_app_role", app)
    run(f"SET LOCAL ROLE {app}")
    key_id, key = chain.keyring()[0]
    waiting = AuditEvent(at=timezone.now(), actor_username="system", action="test.waiting", object_type="test",
                         object_id="1", changes={}, prev_hash="", chain_version=chain.CHAIN_HMAC, key_id=key_id)
    waiting.entry_mac = chain.entry_mac(key, waiting)
    waiting.save(force_insert=True)  # as audit_record writes an event while another transaction holds the head
    assert seal_pending() == 1
    waiting.refresh_from_db()
    assert waiting.seq is not None and waiting.hash
    assert verify_chain().ok
    run("RESET ROLE")
