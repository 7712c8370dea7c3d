"""Results pushed by pipelines: the tokens they use, each uploaded report, and the findings it carries.

Fields that name where a result came from are plain values here, to be linked to the sources,
revisions and assets of issue 17 at merge: `ResultUpload.commit` (the revision), `.source_ref`
(the registered source the pipeline named), `.assets` (ML components and attested subjects), and
`PipelineFinding.asset_name` / `.asset_digest` (the model file or component a finding is about).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.scope import ScopedQuerySet
from assessments.models import Project
from checks.models import CheckDefinition, CheckRun

from .choices import SEVERITIES, FindingStatus, Origin, ReportFormat, UploadStatus


class IngestTokenQuerySet(ScopedQuerySet):
    team_path = "project__team"

    def usable(self, today):
        from django.utils import timezone

        return self.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now()),
                           revoked_at__isnull=True, expires_on__gte=today)


class IngestToken(models.Model):
    """A credential for one project's pipeline: it may post results and read the gate, nothing else.

    Only the SHA-256 of the key is stored (the key has 256 random bits, so a plain digest suffices);
    the key is shown once, when the token is made. It is valid through `expires_on` (UTC).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="ingest_tokens")
    name = models.CharField(max_length=120)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_on = models.DateField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # A key a CI identity token was exchanged for: it lives no longer than that token, to the second.
    expires_at = models.DateTimeField(null=True, blank=True, help_text="valid until then (exchanged CI identity)")
    ci_identity = models.CharField(max_length=120, blank=True, help_text="repository@ref it was exchanged for")

    objects = IngestTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"ingest token {self.name!r} of {self.project}"

    @staticmethod
    def can_be_managed_by(user, project) -> bool:
        """Who makes and revokes a project's ingest tokens: its team's lead and security officers."""
        return bool(user.is_active and (user.is_officer or user.is_lead_of(project.team_id)))

    @property
    def state(self) -> str:
        from django.utils import timezone

        if self.revoked_at:
            return "revoked"
        now = timezone.now()
        return "expired" if self.expires_on < now.date() or (self.expires_at and self.expires_at <= now) else "active"


class ResultUploadQuerySet(ScopedQuerySet):
    team_path = "project__team"


class ResultUpload(models.Model):
    """One report pushed to `projects/{id}/results/`, kept encrypted, processed in the background."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="result_uploads")
    format = models.CharField(max_length=12, choices=ReportFormat.choices)
    tool = models.CharField(max_length=120, blank=True)
    tool_version = models.CharField(max_length=60, blank=True)
    commit = models.CharField(max_length=64, blank=True, help_text="the revision the results are for (a git SHA)")
    branch = models.CharField(max_length=255, blank=True)
    build_id = models.CharField(max_length=255, blank=True)
    source_ref = models.CharField(max_length=200, blank=True, help_text="the registered source the pipeline named")
    artifact = models.CharField(max_length=400, blank=True, help_text="the scanned file, for reports that omit it")
    origin = models.CharField(max_length=10, choices=Origin.choices)
    token = models.ForeignKey(IngestToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads")
    ci_identity = models.CharField(max_length=120, blank=True, help_text="repository@ref of a CI identity token")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    status = models.CharField(max_length=10, choices=UploadStatus.choices, default=UploadStatus.QUEUED)
    detail = models.TextField(blank=True)
    storage_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    results = models.PositiveIntegerField(default=0, help_text="results counted when the report was validated")
    findings_new = models.PositiveIntegerField(default=0)
    findings_closed = models.PositiveIntegerField(default=0)
    severity_counts = models.JSONField(default=dict, blank=True)
    assets = models.JSONField(default=list, blank=True, help_text="ML models/data sets named: {kind, name, version, digest}")
    check_runs = models.ManyToManyField(CheckRun, blank=True, related_name="result_uploads")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ResultUploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["project", "commit"], name="upload_project_commit_idx")]

    def __str__(self) -> str:
        return f"{self.format} results for {self.project} ({self.status})"

    @property
    def badge(self) -> str:
        return UploadStatus.badge_for(self.status)

    @property
    def origin_badge(self) -> str:
        return Origin.badge_for(self.origin)


class PipelineFindingQuerySet(ScopedQuerySet):
    team_path = "project__team"


class PipelineFinding(models.Model):
    """A finding reported by a pipeline's tool, one row per fingerprint on a project, tool and branch.

    A re-upload that reports it again updates `last_upload`; an upload of the same tool and branch
    that no longer reports it closes it; reporting it again reopens it.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pipeline_findings")
    definition = models.ForeignKey(CheckDefinition, on_delete=models.PROTECT, related_name="+", db_column="check_key")
    tool = models.CharField(max_length=120)
    branch = models.CharField(max_length=255, blank=True)
    fingerprint = models.CharField(max_length=64)
    rule_id = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=8, choices=[(s, s) for s in SEVERITIES])
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    ref = models.CharField(max_length=500, blank=True, help_text="where: file and line, package, probe")
    commit = models.CharField(max_length=64, blank=True, help_text="the revision of the last upload reporting it")
    asset_name = models.CharField(max_length=500, blank=True)
    asset_digest = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=8, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    first_upload = models.ForeignKey(ResultUpload, on_delete=models.CASCADE, related_name="+")
    last_upload = models.ForeignKey(ResultUpload, on_delete=models.CASCADE, related_name="+")
    closed_upload = models.ForeignKey(ResultUpload, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = PipelineFindingQuerySet.as_manager()

    class Meta:
        ordering = ["status", "-last_seen_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["project", "tool", "branch", "fingerprint"],
                                               name="pipelinefinding_unique_fingerprint")]
        indexes = [models.Index(fields=["project", "tool", "branch", "status"], name="pfinding_stream_idx")]

    def __str__(self) -> str:
        return f"{self.severity}: {self.title}"


class GatePolicy(models.Model):
    """The thresholds the gate reads for one project; set by a security officer (defaults otherwise)."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="gate_policy")
    fail_severity = models.CharField(max_length=8, choices=[(s, s) for s in SEVERITIES], default="high",
                                     help_text="a finding at or above this severity fails the gate")
    fail_on_failed_check = models.BooleanField(default=True)
    require_model_scan = models.BooleanField(default=False,
                                             help_text="fail unless a model scanner's results exist for the commit")
    fail_on_empty_report = models.BooleanField(
        default=True, help_text="fail when a report of the commit scanned nothing (off: such reports are ignored, "
                                "never counted as a scan)")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"gate policy of {self.project}"

    @staticmethod
    def can_be_set_by(user) -> bool:
        """Who sets a project's gate thresholds: security officers and administrators."""
        return bool(user.is_active and (user.is_officer or user.is_org_admin))


class CIIssuer(models.Model):
    """An OpenID issuer of CI identity tokens (GitHub Actions, GitLab), registered by an administrator."""

    issuer = models.URLField(unique=True, help_text="the `iss` claim, e.g. https://token.actions.githubusercontent.com")
    jwks_url = models.URLField(help_text="where the issuer publishes its signing keys (JWKS)")
    audience = models.CharField(max_length=200, help_text="the `aud` the pipeline asks for, e.g. the portal's URL")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "CI identity issuer"

    def __str__(self) -> str:
        return self.issuer


class CIIdentityRule(models.Model):
    """Which CI identities may push for a project: claims that must all match (blank: any value)."""

    issuer = models.ForeignKey(CIIssuer, on_delete=models.CASCADE, related_name="rules")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="ci_identity_rules")
    repository = models.CharField(max_length=300, help_text="the `repository` (GitHub) or `project_path` (GitLab) claim")
    ref = models.CharField(max_length=300, blank=True, help_text="e.g. refs/heads/main; blank: any ref")
    environment = models.CharField(max_length=120, blank=True, help_text="blank: any environment")

    class Meta:
        verbose_name = "CI identity rule"

    def __str__(self) -> str:
        return f"{self.repository} {self.ref or '*'} → {self.project}"

    def matches(self, claims: dict) -> bool:
        repository = claims.get("repository") or claims.get("project_path")
        return (repository == self.repository and (not self.ref or claims.get("ref") == self.ref)
                and (not self.environment or claims.get("environment") == self.environment))


class CITokenUse(models.Model):
    """A CI identity token the portal accepted, by its `jti` (or the token's digest when it has none).

    A second use of the same token is refused until it expires; rows past their expiry are pruned
    whenever a token is recorded (they can never be replayed then: the expiry check refuses them).
    """

    key = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the issuer and the jti (or the token)")
    issuer = models.ForeignKey(CIIssuer, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "used CI identity token"

    def __str__(self) -> str:
        return f"CI identity token used at {self.used_at} (expires {self.expires_at})"
