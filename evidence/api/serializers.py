from django.utils import timezone
from rest_framework import serializers

from accounts.models import Team
from accounts.scope import scoped
from assessments.models import Answer, Project
from controls.models import Practice

from ..models import Evidence, EvidenceKind


class EvidenceSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none(), required=False, allow_null=True,
                                                 help_text="leave out for shared evidence (with `team` or `organisation`)")
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.none(), required=False, allow_null=True,
                                        help_text="shared evidence kept by this team")
    organisation = serializers.BooleanField(write_only=True, required=False, default=False,
                                            help_text="shared evidence of the whole organisation (officers)")
    scope = serializers.CharField(read_only=True)
    links = serializers.SerializerMethodField()
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
        fields = ["id", "project", "team", "organisation", "scope", "links", "practice", "answer", "kind", "title", "url", "text", "file", "supersedes",
                  "original_name", "sha256", "size", "content_type", "version", "previous", "superseded_at",
                  "valid_until", "effective_on", "observed_from", "observed_until", "stale", "status", "review_note", "reviewed_by", "reviewed_at", "check_run",
                  "uploaded_by", "created_at"]
        read_only_fields = ["original_name", "sha256", "size", "content_type", "version", "previous",
                            "superseded_at", "status", "review_note", "reviewed_at", "check_run", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None:
            self.fields["project"].queryset = Project.objects.visible_to(user).active()
            self.fields["team"].queryset = Team.objects.visible_to(user)
            self.fields["answer"].queryset = Answer.objects.visible_to(user)
            self.fields["supersedes"].queryset = Evidence.objects.visible_to(user)

    def validate(self, attrs):
        shared = attrs.get("team") is not None or attrs.get("organisation")
        if self.instance is None and not shared and attrs.get("project") is None:
            raise serializers.ValidationError({"project": ["Give the project, or share it with `team` or `organisation`."]})
        if attrs.get("team") is not None and attrs.get("organisation"):
            raise serializers.ValidationError({"team": ["A team's or the organisation's, not both."]})
        return attrs

    def get_links(self, obj) -> list[dict]:
        """The projects × practices shared evidence counts for now (empty for a project's own evidence)."""
        if obj.project_id is not None:
            return []
        visible = self._visible_projects()
        return [{"id": link.pk, "project": link.project_id, "practice": link.practice.code,
                 "linked_at": link.linked_at} for link in obj.links.all()
                if link.unlinked_at is None and (visible is None or link.project_id in visible)]

    def _visible_projects(self) -> set[int] | None:
        """The ids of the projects the reader sees (None: every project), read once per response: shared
        evidence is seen by everyone, the projects it serves only by those who see them."""
        if not hasattr(self, "_visible_ids"):
            request = self.context.get("request")
            user = getattr(request, "user", None)
            if user is not None and getattr(user, "sees_everything", False):
                self._visible_ids = None
            else:
                self._visible_ids = set(scoped(user, Project).values_list("pk", flat=True)) if user else set()
        return self._visible_ids

    def get_stale(self, obj) -> bool:
        return obj.is_stale(timezone.localdate())


class EvidenceReviewSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "rejected"])
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class EvidenceLinkSerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none())
    practice = serializers.SlugRelatedField(slug_field="code", queryset=Practice.objects.active())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["project"].queryset = Project.objects.visible_to(request.user)
