from django.utils import timezone
from rest_framework import serializers

from assessments.models import Answer, Project
from controls.models import Practice

from ..models import Evidence, EvidenceKind


class EvidenceSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none())
    practice = serializers.SlugRelatedField(slug_field="code", queryset=Practice.objects.active())
    answer = serializers.PrimaryKeyRelatedField(queryset=Answer.objects.none(), required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=[EvidenceKind.FILE, EvidenceKind.LINK, EvidenceKind.NOTE])
    file = serializers.FileField(write_only=True, required=False, allow_empty_file=True, use_url=False)
    supersedes = serializers.PrimaryKeyRelatedField(queryset=Evidence.objects.none(), required=False, write_only=True,
                                                    allow_null=True, help_text="the evidence this new version replaces")
    uploaded_by = serializers.CharField(source="uploaded_by.username", read_only=True, default=None)
    reviewed_by = serializers.CharField(source="reviewed_by.username", read_only=True, default=None)
    stale = serializers.SerializerMethodField()
    url = serializers.CharField(required=False, allow_blank=True, max_length=2048)
    text = serializers.CharField(required=False, allow_blank=True, max_length=20000)

    class Meta:
        model = Evidence
        fields = ["id", "project", "practice", "answer", "kind", "title", "url", "text", "file", "supersedes",
                  "original_name", "sha256", "size", "content_type", "version", "previous", "superseded_at",
                  "valid_until", "stale", "status", "review_note", "reviewed_by", "reviewed_at", "check_run",
                  "uploaded_by", "created_at"]
        read_only_fields = ["original_name", "sha256", "size", "content_type", "version", "previous",
                            "superseded_at", "status", "review_note", "reviewed_at", "check_run", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None:
            self.fields["project"].queryset = Project.objects.visible_to(user).active()
            self.fields["answer"].queryset = Answer.objects.visible_to(user)
            self.fields["supersedes"].queryset = Evidence.objects.visible_to(user)

    def get_stale(self, obj) -> bool:
        return obj.is_stale(timezone.localdate())


class EvidenceReviewSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "rejected"])
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
