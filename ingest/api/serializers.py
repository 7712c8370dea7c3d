from rest_framework import serializers

from ..choices import SEVERITIES, ReportFormat
from ..models import GatePolicy, IngestToken, PipelineFinding, ResultUpload


class IngestTokenSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)
    revoked_by = serializers.CharField(source="revoked_by.username", read_only=True, default=None)
    state = serializers.CharField(read_only=True, help_text="active / expired / revoked")

    class Meta:
        model = IngestToken
        fields = ["id", "project", "name", "expires_on", "expires_at", "ci_identity", "state", "created_by",
                  "created_at", "last_used_at", "revoked_at", "revoked_by"]
        read_only_fields = ["id", "project", "expires_at", "ci_identity", "created_at", "last_used_at", "revoked_at"]


class IngestTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    expires_on = serializers.DateField(help_text="valid through this day (UTC); at most 366 days ahead")


class IngestTokenCreatedSerializer(IngestTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="the key: shown once, never again")

    class Meta(IngestTokenSerializer.Meta):
        fields = [*IngestTokenSerializer.Meta.fields, "token"]


class CIIdentityExchangedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="an ingest key (`mlsi_…`): shown once, valid until `expires_at`")
    project = serializers.IntegerField()
    expires_at = serializers.DateTimeField(help_text="the CI identity token's own expiry")
    ci_identity = serializers.CharField(help_text="repository@ref")


class ResultsUploadSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="the report (or send the report itself as a JSON body "
                                                           "with the other fields as query parameters)")
    format = serializers.ChoiceField(choices=ReportFormat.choices)
    tool = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    commit = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    branch = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    build_id = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    source = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text="the registered source the results are for (name or id)")
    artifact = serializers.CharField(max_length=400, required=False, allow_blank=True, default="",
                                     help_text="the scanned file, for reports that do not name it (fickling)")


class ResultsAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    status_url = serializers.CharField()


class ResultUploadSerializer(serializers.ModelSerializer):
    check_runs = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True, default=None)
    token = serializers.CharField(source="token.name", read_only=True, default=None)
    assets = serializers.JSONField(read_only=True, help_text=(
        "models, data sets and attested subjects the report names: {kind, name, version, digest, purl, links}; "
        "`links` are the project's asset versions (from its sources) with that SHA-256: {asset, asset_version, "
        "name, kind, version}, empty when none matches"))

    class Meta:
        model = ResultUpload
        fields = ["id", "project", "format", "tool", "tool_version", "commit", "branch", "build_id", "source_ref",
                  "artifact", "origin", "token", "ci_identity", "uploaded_by", "status", "detail", "sha256", "size", "results",
                  "check_runs", "findings_new", "findings_closed", "severity_counts", "assets", "created_at",
                  "finished_at"]


class PipelineFindingSerializer(serializers.ModelSerializer):
    check = serializers.CharField(source="definition_id")

    class Meta:
        model = PipelineFinding
        fields = ["id", "check", "tool", "branch", "fingerprint", "rule_id", "severity", "title", "detail", "ref",
                  "commit", "asset_name", "asset_digest", "status", "first_seen_at", "last_seen_at", "closed_at"]


class GateSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=["pass", "fail"])
    reasons = serializers.ListField(child=serializers.CharField())
    commit = serializers.CharField()


class GatePolicySerializer(serializers.ModelSerializer):
    fail_severity = serializers.ChoiceField(choices=SEVERITIES, default="high")

    class Meta:
        model = GatePolicy
        fields = ["fail_severity", "fail_on_failed_check", "require_model_scan", "fail_on_empty_report"]
