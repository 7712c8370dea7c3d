"""API tokens move from DRF's authtoken (keys stored in clear) to django-rest-knox (digests only).

A DRF key cannot be turned into a knox digest without the key itself, and keeping the old table would
keep every key readable to anyone with the database. So the old tokens are dropped on upgrade: their
table and its migration records go, and API clients sign in again (docs/security.md, docs/operations.md).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


DRF_TOKEN_TABLE = "authtoken_token"


def drop_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    if DRF_TOKEN_TABLE in tables:
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(DRF_TOKEN_TABLE)}")
    if "django_migrations" in tables:
        schema_editor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_record_membership_periods'),
    ]

    operations = [
        migrations.CreateModel(
            name='APIToken',
            fields=[
                ('digest', models.CharField(max_length=128, primary_key=True, serialize=False)),
                ('token_key', models.CharField(db_index=True, max_length=25)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('expiry', models.DateTimeField(blank=True, null=True)),
                ('mfa_verified', models.BooleanField(default=False)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auth_token_set', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'ordering': ['-created'],
            },
        ),
        migrations.RunPython(drop_drf_tokens, migrations.RunPython.noop, elidable=False),
    ]
