from rest_framework import serializers

from ..choices import TEAM_CHANNEL_KINDS, Delivery
from ..models import Notification, TeamChannel


class NotificationSerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="dispatch.event")
    title = serializers.CharField(source="dispatch.title")
    body = serializers.CharField(source="dispatch.body")
    url = serializers.CharField(source="dispatch.url")
    created_at = serializers.DateTimeField(source="dispatch.created_at")
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "event", "title", "body", "url", "created_at", "read", "read_at"]

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class UnreadSerializer(serializers.Serializer):
    unread = serializers.IntegerField()


class PreferenceSerializer(serializers.Serializer):
    event = serializers.CharField()
    label = serializers.CharField()
    audience = serializers.CharField()
    delivery = serializers.ChoiceField(choices=Delivery.choices)


class PreferencesResponseSerializer(serializers.Serializer):
    """What GET, PATCH and PUT answer: every event with how the person hears of it."""

    preferences = PreferenceSerializer(many=True)


class PreferencesSerializer(serializers.Serializer):
    """GET: every event with its delivery. PATCH/PUT: `{"preferences": {"<event>": "immediate"|"digest"|"off"}}`."""

    preferences = serializers.JSONField()


class TeamChannelSerializer(serializers.ModelSerializer):
    """`url` and `secret` are write-only: once saved, only `url_hint` and `has_secret` are shown."""

    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in TEAM_CHANNEL_KINDS])
    url = serializers.CharField(write_only=True, max_length=2048)
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=512,
                                   style={"input_type": "password"})
    events = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = TeamChannel
        fields = ["id", "team", "kind", "name", "url", "url_hint", "secret", "has_secret", "events", "active",
                  "created_at"]
        read_only_fields = ["url_hint", "has_secret", "created_at"]
        extra_kwargs = {"name": {"max_length": 80}}
