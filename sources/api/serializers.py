from rest_framework import serializers

from ..choices import CONFIG_FIELDS, SourceKind
from ..models import Asset, AssetVersion, Source

ALL_CONFIG = sorted({f for fields in CONFIG_FIELDS.values() for f in fields})
LIST_FIELDS = ("models", "dependency_files", "model_artifacts", "datasets")


class SourceSerializer(serializers.Serializer):
    """A source with its kind's location fields at the top level; `credential` is write-only."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=SourceKind.choices)
    name = serializers.CharField(max_length=80)
    url = serializers.CharField(required=False, allow_blank=True, max_length=2048, help_text="git, endpoint")
    ref = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="git: branch, tag or commit")
    subdir = serializers.CharField(required=False, allow_blank=True, max_length=500)
    endpoint_url = serializers.CharField(required=False, allow_blank=True, max_length=2048, help_text="s3")
    bucket = serializers.CharField(required=False, allow_blank=True, max_length=63)
    prefix = serializers.CharField(required=False, allow_blank=True, max_length=500)
    region = serializers.CharField(required=False, allow_blank=True, max_length=40)
    tracking_uri = serializers.CharField(required=False, allow_blank=True, max_length=2048, help_text="mlflow")
    models = serializers.ListField(child=serializers.CharField(max_length=200), required=False, max_length=50)
    alias = serializers.CharField(required=False, allow_blank=True, max_length=80)
    stage = serializers.CharField(required=False, allow_blank=True, max_length=40)
    path = serializers.CharField(required=False, allow_blank=True, max_length=1024, help_text="path")
    dependency_files = serializers.ListField(child=serializers.CharField(max_length=1024), required=False,
                                             max_length=200)
    model_artifacts = serializers.ListField(child=serializers.CharField(max_length=1024), required=False,
                                            max_length=200)
    datasets = serializers.ListField(child=serializers.CharField(max_length=1024), required=False, max_length=200)
    credential = serializers.DictField(child=serializers.CharField(max_length=16000, trim_whitespace=False),
                                       write_only=True, required=False, allow_empty=True,
                                       help_text='{"token"}, {"ssh_key"} or {"access_key_id", "secret_access_key"}; '
                                                 "{} removes it")
    has_credential = serializers.BooleanField(read_only=True)
    from_check_targets = serializers.BooleanField(read_only=True)
    location = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    status_detail = serializers.CharField(read_only=True)
    last_synced_at = serializers.DateTimeField(read_only=True)
    last_revision = serializers.JSONField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Source) -> dict:
        data = super().to_representation(instance)
        for field in ALL_CONFIG:
            if field in CONFIG_FIELDS[instance.kind]:
                data[field] = instance.config.get(field, [] if field in LIST_FIELDS else "")
            else:
                data.pop(field, None)
        return data

    def config_from(self, kind: str) -> dict:
        return {k: v for k, v in self.validated_data.items() if k in ALL_CONFIG}

    def validate(self, attrs):
        kind = attrs.get("kind") or getattr(self.instance, "kind", None)
        if self.instance is not None and "kind" in attrs and attrs["kind"] != self.instance.kind:
            raise serializers.ValidationError({"kind": ["A source's kind cannot change; add a new source."]})
        stray = sorted(k for k in attrs if k in ALL_CONFIG and k not in CONFIG_FIELDS.get(kind, ()))
        if stray:
            raise serializers.ValidationError({stray[0]: [f"A {kind} source has no field {stray[0]}."]})
        return attrs


class SourceTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class AssetVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = AssetVersion
        fields = ["version", "revision", "sha256", "size", "format", "created_at", "stage", "verdicts"]


class AssetSerializer(serializers.ModelSerializer):
    versions = AssetVersionSerializer(many=True, read_only=True)

    class Meta:
        model = Asset
        fields = ["id", "project", "kind", "name", "source", "versions", "created_at"]


class SyncResponseSerializer(serializers.Serializer):
    status = serializers.CharField()
    sources = serializers.ListField(child=serializers.IntegerField())
