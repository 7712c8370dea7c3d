"""Give the application's PostgreSQL role what it needs, and on the audit table no more than INSERT and SELECT.

Run it as the role that owns the schema (the one that runs `migrate`), after every `migrate`:

    DATABASE_URL=postgres://mlsec_owner:…@db/mlsec manage.py grant_app_role mlsec_app

The web processes and workers then connect as `mlsec_app`. That role cannot UPDATE, DELETE or
TRUNCATE audit events (it may only fill in the chain columns of an event waiting to be sealed, which
the append-only trigger allows once), and cannot switch the append-only trigger off (only a table's owner can
ALTER it), so someone holding the application's credentials cannot rewrite the trail in place.
See docs/deployment.md for creating the two roles.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from audit.models import AuditEvent

ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


def grant_statements(app_role: str, schema: str) -> list[str]:
    role, space = connection.ops.quote_name(app_role), connection.ops.quote_name(schema)
    audit = connection.ops.quote_name(AuditEvent._meta.db_table)
    migrations = connection.ops.quote_name("django_migrations")
    return [
        f"GRANT USAGE ON SCHEMA {space} TO {role}",
        f"GRANT {ROW_PRIVILEGES} ON ALL TABLES IN SCHEMA {space} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {space} TO {role}",
        # Tables that later migrations create (run by the owner) get the same row privileges.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {space} GRANT {ROW_PRIVILEGES} ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {space} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        # The trail: append and read, nothing else.
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {audit} FROM {role}",
        # ...and sealing: giving a committed, unchained event its place in the chain (audit/services.py).
        # Only these columns, and the append-only trigger lets them change once, from empty, and nothing else.
        f"GRANT UPDATE (seq, prev_hash, hash, key_id) ON {audit} TO {role}",
        # Only the owner records which migrations ran.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {migrations} FROM {role}",
    ]


class Command(BaseCommand):
    help = ("Grant the application's PostgreSQL role row access to every table, and only INSERT and SELECT on "
            "the audit trail. Run as the schema owner after each migrate.")

    def add_arguments(self, parser):
        parser.add_argument("app_role", help="the role the web processes and workers connect as")
        parser.add_argument("--print-sql", action="store_true", help="print the statements instead of running them")

    def handle(self, *args, app_role: str, print_sql: bool, **options):
        if connection.vendor != "postgresql":
            raise CommandError("database roles apply to PostgreSQL only; the embedded SQLite database has none")
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_schema(), current_user, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)",
                           [app_role])
            schema, owner, exists = cursor.fetchone()
        if not exists:
            raise CommandError(f"there is no role {app_role!r}: create it first (docs/deployment.md)")
        if app_role == owner:
            raise CommandError("the application role must not be the owner that runs this command")
        statements = grant_statements(app_role, schema)
        if print_sql:
            self.stdout.write(";\n".join(statements) + ";")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(f"{app_role}: row access to every table in {schema}; "
                          f"INSERT and SELECT only on {AuditEvent._meta.db_table}")
