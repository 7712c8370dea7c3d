"""Membership history for separation of duties, back-filled from today's memberships and the audit trail.

Every current membership opens a period from its creation. Memberships removed before this
migration are found in the audit trail (`membership.remove`, `admin:membership.delete`) and recorded
as periods ending at their removal; their start is unknown, so it is taken as the team's creation
(the strict reading: a reviewer who was ever in the team before leaving it counts as a member).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _removed_memberships(apps, db):
    """(team, user, role, removed at) for each membership removal the audit trail recorded."""
    Team = apps.get_model("accounts", "Team")
    User = apps.get_model("accounts", "User")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    teams_by_slug = {t.slug: t for t in Team.objects.using(db)}
    teams_by_id = {t.pk: t for t in teams_by_slug.values()}
    teams_by_name = {t.name: t for t in teams_by_slug.values()}
    users = {u.pk: u for u in User.objects.using(db)}
    users_by_name = {u.username: u for u in users.values()}
    removals = AuditEvent.objects.using(db).filter(action__in=["membership.remove", "admin:membership.delete"])
    for event in removals.order_by("seq"):
        before = (event.changes or {}).get("before") or {}
        team = teams_by_slug.get(before.get("team")) if isinstance(before.get("team"), str) else teams_by_id.get(before.get("team"))
        if team is None and " in " in event.object_repr:
            team = teams_by_name.get(event.object_repr.rsplit(" in ", 1)[1])
        user = users_by_name.get(before.get("user")) if isinstance(before.get("user"), str) else users.get(before.get("user"))
        if team is not None and user is not None:
            yield team, user, before.get("role") or "member", event.at


def backfill_periods(apps, schema_editor):
    db = schema_editor.connection.alias
    Membership = apps.get_model("accounts", "Membership")
    MembershipPeriod = apps.get_model("accounts", "MembershipPeriod")
    periods = [MembershipPeriod(team_id=m.team_id, user_id=m.user_id, role=m.role, started_at=m.created_at)
               for m in Membership.objects.using(db)]
    periods += [MembershipPeriod(team=team, user=user, role=role, started_at=min(team.created_at, removed_at),
                                 ended_at=removed_at)
                for team, user, role, removed_at in _removed_memberships(apps, db)]
    MembershipPeriod.objects.using(db).bulk_create(periods)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('audit', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='MembershipPeriod',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('lead', 'Lead'), ('member', 'Member')], max_length=8)),
                ('started_at', models.DateTimeField()),
                ('ended_at', models.DateTimeField(blank=True, null=True)),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='membership_periods', to='accounts.team')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='membership_periods', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['user', 'team', 'started_at'],
                'indexes': [models.Index(fields=['user', 'team'], name='period_user_team_idx')],
            },
        ),
        migrations.RunPython(backfill_periods, migrations.RunPython.noop),
    ]
