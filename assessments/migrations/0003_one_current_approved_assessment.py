from django.conf import settings
from django.db import migrations, models


def supersede_duplicates(apps, schema_editor):
    """Before the constraint: where a race left several current approved assessments of one project,
    keep the one reviewed last and supersede each older one when the next was reviewed."""
    Assessment = apps.get_model("assessments", "Assessment")
    current = (Assessment.objects.filter(status="approved", superseded_at__isnull=True)
               .order_by("project_id", "reviewed_at", "pk"))
    by_project = {}
    for assessment in current:
        by_project.setdefault(assessment.project_id, []).append(assessment)
    for items in by_project.values():
        for older, newer in zip(items, items[1:]):
            older.superseded_at = newer.reviewed_at or older.reviewed_at
            older.save(update_fields=["superseded_at"])


class Migration(migrations.Migration):

    dependencies = [
        ('assessments', '0002_assessment_assessment_created_idx'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(supersede_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='assessment',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'approved'), ('superseded_at__isnull', True)), fields=('project',), name='assessment_one_current_approved'),
        ),
    ]
