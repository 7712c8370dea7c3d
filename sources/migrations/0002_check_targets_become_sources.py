"""Every project's `check_targets` become its `path` and `endpoint` sources, so nothing a team
configured is lost (the field stays and keeps being accepted; it mirrors those sources)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from sources.services import targets_to_configs

    Project = apps.get_model("assessments", "Project")
    Source = apps.get_model("sources", "Source")
    made = []
    for project in Project.objects.exclude(check_targets={}).only("pk", "check_targets").iterator(chunk_size=500):
        if not isinstance(project.check_targets, dict):
            continue
        for kind, name, config in targets_to_configs(project.check_targets):
            made.append(Source(project_id=project.pk, kind=kind, name=name, config=config, from_check_targets=True))
        if len(made) >= 500:
            Source.objects.bulk_create(made, ignore_conflicts=True)
            made = []
    Source.objects.bulk_create(made, ignore_conflicts=True)


def backwards(apps, schema_editor):
    apps.get_model("sources", "Source").objects.filter(from_check_targets=True).delete()


class Migration(migrations.Migration):
    dependencies = [("sources", "0001_sources_and_assets"), ("assessments", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
