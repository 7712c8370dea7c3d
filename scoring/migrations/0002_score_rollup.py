# The incremental scorecard (scoring/rollup.py): project and team rows, filled once for existing data.

import django.db.models.deletion
from django.db import migrations, models


def fill_rollup(apps, schema_editor):
    """An existing organisation gets its rollup computed once (a fresh database has nothing to add up)."""
    Project = apps.get_model("assessments", "Project")
    if not Project.objects.using(schema_editor.connection.alias).exists():
        return
    from scoring.rollup import rebuild

    rebuild(renew_revisions=False)  # the revisions' table comes with 0003, which fills it


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_api_tokens_knox_and_drop_drf_tokens'),
        ('assessments', '0004_project_ai_act_classification'),
        ('controls', '0001_initial'),
        ('scoring', '0001_initial'),
        ('checks', '0005_checkrun_task_id_and_baseline_approvals'),
        ('evidence', '0002_alter_evidence_previous'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProjectRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weighted_sum', models.FloatField(default=0)),
                ('weight_total', models.FloatField(default=0)),
                ('projects', models.PositiveIntegerField(default=0)),
                ('covered', models.PositiveIntegerField(default=0)),
                ('scored', models.PositiveIntegerField(default=0)),
                ('verified', models.PositiveIntegerField(default=0)),
                ('capped', models.PositiveIntegerField(default=0)),
                ('stale', models.BooleanField(default=False)),
                ('accepted', models.BooleanField(default=False)),
                ('practice', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='controls.practice')),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='assessments.project')),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.team')),
            ],
            options={
                'indexes': [models.Index(fields=['team', 'practice'], name='project_rollup_team_idx')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('practice__isnull', False)), fields=('project', 'practice'), name='project_rollup_cell_unique'), models.UniqueConstraint(condition=models.Q(('practice__isnull', True)), fields=('project',), name='project_rollup_totals_unique')],
            },
        ),
        migrations.CreateModel(
            name='TeamRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weighted_sum', models.FloatField(default=0)),
                ('weight_total', models.FloatField(default=0)),
                ('projects', models.PositiveIntegerField(default=0)),
                ('covered', models.PositiveIntegerField(default=0)),
                ('scored', models.PositiveIntegerField(default=0)),
                ('verified', models.PositiveIntegerField(default=0)),
                ('capped', models.PositiveIntegerField(default=0)),
                ('stale', models.BooleanField(default=False)),
                ('accepted', models.BooleanField(default=False)),
                ('practice', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='controls.practice')),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.team')),
            ],
            options={
                'constraints': [models.UniqueConstraint(condition=models.Q(('practice__isnull', False)), fields=('team', 'practice'), name='team_rollup_cell_unique'), models.UniqueConstraint(condition=models.Q(('practice__isnull', True)), fields=('team',), name='team_rollup_totals_unique')],
            },
        ),
        migrations.RunPython(fill_rollup, migrations.RunPython.noop),
    ]
