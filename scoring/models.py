"""Daily score snapshots: the history behind trends and past `as_of` scorecards."""

from __future__ import annotations

from django.db import models

from accounts.models import Team
from controls.models import Practice


class ScoreSnapshot(models.Model):
    """One day's score for a team × practice, a team overall (practice null), or the organisation (team null).

    The raw sums are kept beside the score so any roll-up (organisation, several teams) can be
    recomputed exactly from snapshots.
    """

    day = models.DateField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="snapshots")
    practice = models.ForeignKey(Practice, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(null=True)
    coverage = models.FloatField(null=True)
    verified = models.FloatField(null=True)
    stale = models.BooleanField(default=False)
    accepted = models.BooleanField(default=False)
    weighted_sum = models.FloatField(default=0)
    weight_total = models.FloatField(default=0)
    projects = models.PositiveIntegerField(default=0)
    covered = models.PositiveIntegerField(default=0)
    scored = models.PositiveIntegerField(default=0)
    verified_count = models.PositiveIntegerField(default=0)
    capped = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day"]
        indexes = [
            models.Index(fields=["day", "team", "practice"], name="snapshot_day_team_practice_idx"),
            models.Index(fields=["team", "practice", "day"], name="snapshot_team_trend_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.team or 'organisation'} {self.practice or 'overall'}: {self.score}"


class RollupFields(models.Model):
    """The sums behind a score (the engine's `Cell`), kept up to date as things change (scoring/rollup.py).

    With a practice: one cell. Without (practice null): the group's project count and covered projects.
    """

    practice = models.ForeignKey(Practice, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    weighted_sum = models.FloatField(default=0)
    weight_total = models.FloatField(default=0)
    projects = models.PositiveIntegerField(default=0)
    covered = models.PositiveIntegerField(default=0)
    scored = models.PositiveIntegerField(default=0)
    verified = models.PositiveIntegerField(default=0)
    capped = models.PositiveIntegerField(default=0)
    stale = models.BooleanField(default=False)
    accepted = models.BooleanField(default=False)

    class Meta:
        abstract = True


def one_row_per_cell(group: str) -> list[models.UniqueConstraint]:
    """A rollup holds one row per `group` × practice and one totals row (practice null) per `group`."""
    return [
        models.UniqueConstraint(fields=[group, "practice"], condition=models.Q(practice__isnull=False),
                                name=f"{group}_rollup_cell_unique"),
        models.UniqueConstraint(fields=[group], condition=models.Q(practice__isnull=True),
                                name=f"{group}_rollup_totals_unique"),
    ]


class ProjectRollup(RollupFields):
    """A project × practice cell as of now (practice null: is the project counted, and covered)."""

    project = models.ForeignKey("assessments.Project", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = one_row_per_cell("project")
        indexes = [models.Index(fields=["team", "practice"], name="project_rollup_team_idx")]

    def __str__(self) -> str:
        return f"project {self.project_id} × {self.practice_id or 'totals'}"


class TeamRollup(RollupFields):
    """A team × practice cell as of now: the sum of its projects' rows (practice null: the team's totals)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = one_row_per_cell("team")

    def __str__(self) -> str:
        return f"team {self.team_id} × {self.practice_id or 'totals'}"


class TeamScoreRevision(models.Model):
    """Changes whenever a team's rollup rows are rewritten: today's scorecard is remembered under the
    revisions of the teams it shows (`scoring/cache.py`). A random value, not a counter, so a restored
    backup or a rolled-back transaction can never bring back a revision that named other figures."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, primary_key=True, related_name="+")
    revision = models.BigIntegerField()

    def __str__(self) -> str:
        return f"team {self.team_id} scores revision {self.revision}"
