# The revision per team that today's remembered scorecard is keyed by (scoring/cache.py).

import secrets

import django.db.models.deletion
from django.db import migrations, models


def give_every_team_a_revision(apps, schema_editor):
    """Random from the start, so no key of an existing organisation is shared with another database's."""
    Team = apps.get_model("accounts", "Team")
    TeamScoreRevision = apps.get_model("scoring", "TeamScoreRevision")
    alias = schema_editor.connection.alias
    TeamScoreRevision.objects.using(alias).bulk_create(
        [TeamScoreRevision(team_id=pk, revision=secrets.randbits(62))
         for pk in Team.objects.using(alias).values_list("pk", flat=True)], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_user_identity_source_and_membership_source'),
        ('scoring', '0002_score_rollup'),
    ]

    operations = [
        migrations.CreateModel(
            name='TeamScoreRevision',
            fields=[
                ('team', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='accounts.team')),
                ('revision', models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(give_every_team_a_revision, migrations.RunPython.noop),
    ]
