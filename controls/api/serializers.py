from rest_framework import serializers

from ..models import Practice, PracticeMapping, validate_levels


class MappingSerializer(serializers.ModelSerializer):
    framework = serializers.CharField(source="framework.name", read_only=True)
    framework_key = serializers.CharField(source="framework.key", read_only=True)
    framework_version = serializers.CharField(source="framework.version", read_only=True)

    class Meta:
        model = PracticeMapping
        fields = ["framework", "framework_key", "framework_version", "ref", "title"]


class LevelSerializer(serializers.Serializer):
    level = serializers.IntegerField(min_value=0, max_value=4)
    summary = serializers.CharField(max_length=300)


class PracticeSerializer(serializers.ModelSerializer):
    levels = LevelSerializer(many=True)
    mappings = MappingSerializer(many=True, read_only=True)

    class Meta:
        model = Practice
        fields = ["code", "number", "title", "category", "description", "weight", "levels", "evidence_guidance",
                  "not_applicable_hint", "mappings", "catalog_version", "is_custom", "is_active"]
        read_only_fields = ["code", "number", "catalog_version", "is_custom", "is_active"]

    def validate_levels(self, value):
        try:
            validate_levels([dict(item) for item in value])
        except Exception as exc:
            raise serializers.ValidationError(list(getattr(exc, "messages", [str(exc)]))) from None
        return [dict(item) for item in value]
