from rest_framework import serializers

from accounts.models import Team
from assessments.models import Project

from ..models import Report, ReportScope
from ..renderers.registry import format_choices


class ReportSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.none(), required=False, allow_null=True)
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none(), required=False, allow_null=True)
    scope = serializers.ChoiceField(choices=ReportScope.choices)
    format = serializers.ChoiceField(choices=format_choices())
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    download = serializers.SerializerMethodField()
    retry = serializers.SerializerMethodField(help_text="POST here to queue a failed export again (its requester only)")

    class Meta:
        model = Report
        fields = ["id", "scope", "team", "project", "as_of", "format", "status", "progress", "requested_by",
                  "created_at", "started_at", "finished_at", "filename", "size", "sha256", "error", "download", "retry"]
        read_only_fields = ["status", "progress", "created_at", "started_at", "finished_at", "filename", "size",
                            "sha256", "error"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = format_choices()  # the formats registered now, plug-ins included
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None:
            self.fields["team"].queryset = Team.objects.visible_to(user)
            self.fields["project"].queryset = Project.objects.visible_to(user)

    def get_download(self, obj) -> str | None:
        return f"/api/v1/reports/{obj.pk}/download/" if obj.status == "ready" else None

    def get_retry(self, obj) -> str | None:
        request = self.context.get("request")
        mine = request is not None and obj.requested_by_id == getattr(request.user, "pk", None)
        return f"/api/v1/reports/{obj.pk}/retry/" if obj.status == "failed" and mine else None
