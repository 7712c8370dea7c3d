"""A project's sources (where its code, models and data live) and its inventory of models and datasets."""

from __future__ import annotations

from django.db import models

from accounts.scope import ScopedQuerySet
from checks.choices import RunStatus

from .choices import AssetKind, SourceKind, SourceStatus


class SourceQuerySet(ScopedQuerySet):
    team_path = "project__team"

    def for_list(self):
        return self.select_related("project__team").order_by("kind", "name", "pk")


class Source(models.Model):
    """One place a project's checks fetch from: a Git repository, an S3 bucket (prefix), MLflow
    registered models, a directory under the team's check root, or the serving endpoint.

    `config` holds the location fields of the kind (`choices.CONFIG_FIELDS`); `credential` the
    write-only secret, encrypted with the evidence keys (`sources.crypto`), never shown again.
    """

    project = models.ForeignKey("assessments.Project", on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=8, choices=SourceKind.choices)
    name = models.CharField(max_length=80)
    config = models.JSONField(default=dict, blank=True)
    credential_encrypted = models.TextField(blank=True, default="", editable=False)
    # Made from the project's `check_targets` (migrated, or written through that field since).
    from_check_targets = models.BooleanField(default=False)
    status = models.CharField(max_length=6, choices=SourceStatus.choices, default=SourceStatus.NEVER)
    status_detail = models.CharField(max_length=500, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_revision = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SourceQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name", "pk"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="source_unique_project_name")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"

    @property
    def badge(self) -> str:
        return SourceStatus.badge_for(self.status)

    @staticmethod
    def changes_are_shown_to(user) -> bool:
        """Who is told that a project's sources changed since its last approval: officers and administrators,
        who decide whether the approved assessment still holds."""
        return user.is_officer or user.is_org_admin

    @property
    def has_credential(self) -> bool:
        return bool(self.credential_encrypted)

    @property
    def location(self) -> str:
        """Where it points, in one line for pages and sentences (never a credential)."""
        c = self.config or {}
        if self.kind == SourceKind.GIT:
            at = f"@{c['ref']}" if c.get("ref") else ""
            return f"{c.get('url', '')}{at}" + (f" ({c['subdir']})" if c.get("subdir") else "")
        if self.kind == SourceKind.S3:
            return f"s3://{c.get('bucket', '')}/{c.get('prefix', '')}"
        if self.kind == SourceKind.MLFLOW:
            return f"{c.get('tracking_uri', '')} ({', '.join(c.get('models') or [])})"
        if self.kind == SourceKind.PATH:
            return c.get("path") or ", ".join((c.get("model_artifacts") or []) + (c.get("datasets") or []))
        return c.get("url", "")

    def describe(self) -> str:
        return f"the {self.kind} source '{self.name}'"

    def can_be_edited_by(self, user) -> bool:
        return self.project.can_be_edited_by(user)


class AssetQuerySet(ScopedQuerySet):
    team_path = "project__team"

    def for_list(self):
        return (self.select_related("source", "project__team")
                .prefetch_related(models.Prefetch("versions", queryset=AssetVersion.objects.order_by("-created_at", "-pk")))
                .order_by("kind", "name", "pk"))


class Asset(models.Model):
    """A model or a dataset of a project, found in one of its sources (an MLflow registered model,
    a model or data file in a repository or bucket)."""

    project = models.ForeignKey("assessments.Project", on_delete=models.CASCADE, related_name="assets")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets")
    kind = models.CharField(max_length=8, choices=AssetKind.choices)
    name = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name", "pk"]
        constraints = [models.UniqueConstraint(fields=["project", "source", "name"], name="asset_unique_name")]

    def __str__(self) -> str:
        return self.name


class AssetVersion(models.Model):
    """One version of an asset: an MLflow model version, an S3 object version, a file at a commit.

    `revision` is what pins it (`{"model", "version", "run_id", "artifact_uri"}`, `{"key",
    "version_id", "etag"}` or `{"commit", "path"}`); `verdicts` the latest verdict of each check
    that looked at it (`{"model-serialization": {"status", "run"}}`).
    """

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=200)
    revision = models.JSONField(default=dict)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    format = models.CharField(max_length=40, blank=True)
    stage = models.CharField(max_length=80, blank=True)
    verdicts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["asset", "version"], name="assetversion_unique")]

    def __str__(self) -> str:
        return f"{self.asset} {self.version}"

    @property
    def verdict_badges(self) -> list[tuple[str, str, str]]:
        """`(check key, status, badge)` of each verdict, coloured as the check runs are (`RunStatus`)."""
        return [(key, verdict.get("status"),
                 RunStatus.badge_for(verdict["status"]) if verdict.get("status") in RunStatus.values else "warning")
                for key, verdict in self.verdicts.items()]
