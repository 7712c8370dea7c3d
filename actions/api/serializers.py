from django.utils import timezone
from rest_framework import serializers

from checks.models import CheckRun

from ..choices import SETTABLE_STATUSES
from ..models import Action


class ActionSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="project.team.slug", read_only=True)
    practice = serializers.CharField(source="practice.code", read_only=True)
    check = serializers.CharField(source="check_definition_id", read_only=True, default=None)
    owner_username = serializers.CharField(source="owner.username", read_only=True, default=None)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Action
        fields = ["id", "project", "team", "practice", "source", "answer", "check", "check_run", "title",
                  "current_level", "target_level", "owner", "owner_username", "due_on", "status", "overdue",
                  "opened_at", "updated_at", "closed_at", "closed_reason"]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue(timezone.localdate())


class ActionUpdateSerializer(serializers.Serializer):
    owner = serializers.IntegerField(allow_null=True, required=False, help_text="a user id of the project's team")
    due_on = serializers.DateField(required=False)
    status = serializers.ChoiceField(choices=[s.value for s in SETTABLE_STATUSES], required=False)


class ActionPromoteSerializer(serializers.Serializer):
    check_run = serializers.PrimaryKeyRelatedField(queryset=CheckRun.objects.none(),
                                                   help_text="a failing check run to turn into actions")
    owner = serializers.IntegerField(required=False, allow_null=True)
    due_on = serializers.DateField(required=False, allow_null=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["check_run"].queryset = CheckRun.objects.visible_to(request.user)
