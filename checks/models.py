"""Automated checks: their definitions (synced from the code registry), runs, baselines and advisories."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from accounts.scope import ScopedQuerySet
from assessments.models import Project
from controls.models import Practice
from mlsec_portal.choices import BadgeChoices

from .choices import ACTIVE_STATUSES, AllowanceKind, RunStatus, SignerKind, Trigger


class CheckDefinition(models.Model):
    """A registered check as the database knows it, so scoring can join runs to the practices they cover."""

    key = models.CharField(max_length=64, primary_key=True)
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    practices = models.ManyToManyField(Practice, related_name="checks", blank=True)
    timeout_s = models.PositiveIntegerField()
    heavy = models.BooleanField(default=False)
    default_schedule = models.CharField(max_length=64)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class CheckRunQuerySet(ScopedQuerySet):
    team_path = "project__team"

    def latest_per_check(self):
        """For each project × check, the most recent run (any status)."""
        newer = CheckRun.objects.filter(
            project_id=models.OuterRef("project_id"), definition_id=models.OuterRef("definition_id"), pk__gt=models.OuterRef("pk")
        )
        return self.filter(~models.Exists(newer))


class CheckRun(models.Model):
    """One execution of one check against one project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="check_runs")
    # `check` would shadow Model.check(); the API still calls it "check" (the key).
    definition = models.ForeignKey(CheckDefinition, on_delete=models.PROTECT, related_name="runs", db_column="check_key")
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True)
    findings = models.JSONField(default=list, blank=True)
    data = models.JSONField(default=dict, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    # The Celery task that claimed the run: a retry or a redelivery of that same task resumes it.
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A decided run (passed/failed) is superseded when a newer decided run of the same check on the
    # same project finishes; the verdict that counts at time T has finished_at <= T < superseded_at.
    superseded_at = models.DateTimeField(null=True, blank=True)
    # The source the run fetched and its exact revision ({"commit"}, {"objects": [...]}, {"model", "version",
    # "run_id"}); with several sources, `source` is empty and `revision` is {"sources": [...]}.
    source = models.ForeignKey("sources.Source", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    revision = models.JSONField(default=dict, blank=True)

    objects = CheckRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Two triggers never produce two concurrent runs of one check on one project.
            models.UniqueConstraint(
                fields=["project", "definition"], condition=Q(status__in=ACTIVE_STATUSES), name="checkrun_one_active"
            )
        ]
        indexes = [
            models.Index(fields=["project", "definition", "status"], name="checkrun_project_check_idx"),
            models.Index(fields=["status", "started_at"], name="checkrun_status_started_idx"),
            models.Index(fields=["status", "finished_at", "superseded_at"], name="checkrun_verdict_idx"),
            models.Index(fields=["-created_at"], name="checkrun_created_idx"),  # the check-runs list, newest first
        ]

    def __str__(self) -> str:
        return f"{self.definition_id} on {self.project} ({self.status})"

    @property
    def badge(self) -> str:
        return RunStatus.badge_for(self.status)


class BaselineQuerySet(ScopedQuerySet):
    team_path = "project__team"


class ArtifactBaseline(models.Model):
    """The approved SHA-256 of each model artifact of a project (model-integrity compares against it)."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="artifact_baseline")
    artifacts = models.JSONField(default=dict)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField()
    source_run = models.ForeignKey(CheckRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # For fetched sources: the version each approved artifact had (S3 version id or ETag, commit, MLflow version).
    versions = models.JSONField(default=dict, blank=True)

    objects = BaselineQuerySet.as_manager()

    def __str__(self) -> str:
        return f"baseline of {self.project}"


class BaselineApproval(models.Model):
    """A request to re-approve a project's model artifacts as they are now, hashed on a worker.

    Hashing many large files takes minutes, so the page and the API only record the request and
    queue it (`heavy` queue); the worker writes the baseline and the audit event, then marks the
    request done or failed with a sentence saying why.
    """

    class Status(BadgeChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

        __badges__ = {"queued": "info", "running": "info", "done": "success", "failed": "warning"}

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="baseline_approvals")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True)
    artifacts = models.PositiveIntegerField(default=0)

    objects = BaselineQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # A double click, or two people at once, queue one hashing job per project.
            models.UniqueConstraint(fields=["project"], condition=Q(status__in=("queued", "running")),
                                    name="baselineapproval_one_active")
        ]

    def __str__(self) -> str:
        return f"baseline approval for {self.project} ({self.status})"

    @property
    def badge(self) -> str:
        return self.Status.badge_for(self.status)


class TeamCheckRoot(models.Model):
    """A directory an administrator assigns to one team, beside its `<root>/<slug>/` directories.

    It must lie outside the shared check roots (where every team has its own directory), outside
    the portal's own files, and must not overlap another team's assigned root (see
    `checks.confinement.assigned_root_refusal`, checked again whenever a run uses it).
    """

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="check_roots")
    path = models.CharField(max_length=1024, help_text="absolute path on the check workers")
    note = models.CharField(max_length=200, blank=True, help_text="why this team reads from there")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "path"]
        constraints = [models.UniqueConstraint(fields=["path"], name="teamcheckroot_unique_path")]

    def __str__(self) -> str:
        return f"{self.path} ({self.team})"

    def clean(self) -> None:
        from .confinement import assigned_root_refusal

        if self.team_id:
            why = assigned_root_refusal(self.team, self.path, exclude_pk=self.pk)
            if why:
                raise ValidationError({"path": [f"This directory cannot be a check root: {why}."]})


class Advisory(models.Model):
    """One OSV advisory for one PyPI package (an advisory naming three packages is three rows)."""

    osv_id = models.CharField(max_length=80)
    package = models.CharField(max_length=200, help_text="PEP 503 normalised name")
    aliases = models.JSONField(default=list)
    summary = models.TextField(blank=True)
    record = models.JSONField(help_text="the OSV record as published")
    modified = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["osv_id", "package"], name="advisory_unique_id_package")]
        indexes = [models.Index(fields=["package"], name="advisory_package_idx")]

    def __str__(self) -> str:
        return f"{self.osv_id} ({self.package})"


class AdvisoryImport(models.Model):
    """Each `import_advisories` run: what it read and when, shown in the portal."""

    source = models.CharField(max_length=500)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    records_read = models.PositiveIntegerField(default=0)
    advisories_stored = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"advisory import {self.started_at:%Y-%m-%d %H:%M}"


class ScanAllowanceQuerySet(ScopedQuerySet):
    team_path = "team"


class ScanAllowance(models.Model):
    """A name a team may load beyond the documented allow-list, reviewed by a security officer.

    `model-serialization` treats an allowed pickle global (or ONNX operator domain) as safe for this
    team's projects only. Names known to execute code can never be allowed (validated here and in
    the service), and every change is audited.
    """

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="scan_allowances")
    kind = models.CharField(max_length=16, choices=AllowanceKind.choices, default=AllowanceKind.PICKLE_GLOBAL)
    name = models.CharField(max_length=200, help_text="module.name for a pickle global; the domain for ONNX")
    reason = models.TextField(max_length=2000, help_text="why loading this is safe: what it does when called")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField()

    objects = ScanAllowanceQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["team", "kind", "name"], name="scanallowance_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}) for {self.team}"

    @staticmethod
    def can_be_reviewed_by(user) -> bool:
        """Add or remove an allowance (a reviewed exception to the scanners): officers and administrators."""
        return user.is_officer or user.is_org_admin

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from .validators import allowance_problem

        problem = allowance_problem(self.kind, self.name, self.reason)
        if problem:
            raise ValidationError(problem)


class SigningPolicyQuerySet(ScopedQuerySet):
    team_path = "project__team"


class SigningPolicy(models.Model):
    """A project's model-signing policy: which signers `model-integrity` accepts, and whether a signature is required."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="signing_policy")
    required = models.BooleanField(default=False, help_text="unsigned or wrongly signed models fail model-integrity")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    objects = SigningPolicyQuerySet.as_manager()

    def __str__(self) -> str:
        return f"signing policy of {self.project}"

    @staticmethod
    def can_be_set_by(user, project) -> bool:
        """Replace a project's signing policy: the team's lead, officers and administrators."""
        return user.is_officer or user.is_org_admin or user.is_lead_of(project.team_id)


class AllowedSigner(models.Model):
    policy = models.ForeignKey(SigningPolicy, on_delete=models.CASCADE, related_name="signers")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=SignerKind.choices)
    material = models.TextField(max_length=64_000, help_text="PEM public key, or PEM certificate chain (roots)")
    identities = models.JSONField(default=list, blank=True, help_text="certificate signers: allowed leaf identities")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["policy", "name"], name="allowedsigner_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from .validators import signer_problem

        problem = signer_problem(self.kind, self.material)
        if problem:
            raise ValidationError({"material": problem})
