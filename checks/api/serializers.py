from rest_framework import serializers

from ..models import ArtifactBaseline, BaselineApproval, CheckDefinition, CheckRun


class CheckSerializer(serializers.ModelSerializer):
    practices = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    schedule = serializers.SerializerMethodField(help_text="the crontab in force (editable in the admin)")

    class Meta:
        model = CheckDefinition
        fields = ["key", "title", "description", "practices", "schedule", "timeout_s", "heavy"]

    def get_schedule(self, obj) -> str:
        return self.context.get("schedules", {}).get(obj.key, obj.default_schedule)


class FindingSerializer(serializers.Serializer):
    severity = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    ref = serializers.CharField(allow_blank=True)


class CheckRunSerializer(serializers.ModelSerializer):
    check = serializers.CharField(source="definition_id", read_only=True)
    findings = FindingSerializer(many=True, read_only=True)
    evidence = serializers.SerializerMethodField(help_text="ids of the evidence records this run produced")
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None)
    revision = serializers.JSONField(read_only=True, help_text='{"commit"}, {"objects": [{key, version_id}]} or '
                                                                 '{"model", "version", "run_id"}; {} for a directory')

    class Meta:
        model = CheckRun
        fields = ["id", "project", "check", "status", "trigger", "requested_by", "created_at", "started_at",
                  "finished_at", "summary", "findings", "evidence", "source", "revision"]

    def get_evidence(self, obj) -> list[int]:
        return [e.pk for e in obj.evidence.all()]


class RunChecksSerializer(serializers.Serializer):
    checks = serializers.ListField(child=serializers.CharField(max_length=64), required=False, allow_empty=False,
                                   max_length=20, help_text="check keys (default: every registered check)")


class RunChecksResponseSerializer(serializers.Serializer):
    check_runs = CheckRunSerializer(many=True)


class BaselineSerializer(serializers.ModelSerializer):
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, default=None)

    class Meta:
        model = ArtifactBaseline
        fields = ["project", "artifacts", "approved_by", "approved_at", "source_run"]


class BaselineApprovalSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None)

    class Meta:
        model = BaselineApproval
        fields = ["id", "status", "requested_by", "requested_at", "finished_at", "detail", "artifacts"]


class BaselineStateSerializer(serializers.Serializer):
    """The approved baseline (empty before the first) and the latest re-approval request."""

    project = serializers.IntegerField()
    artifacts = serializers.DictField(child=serializers.CharField())
    approved_by = serializers.CharField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    source_run = serializers.IntegerField(allow_null=True)
    approval = BaselineApprovalSerializer(allow_null=True, help_text="the latest re-approval request, if any")
