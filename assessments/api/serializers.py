from django.core.exceptions import ValidationError
from rest_framework import serializers

from accounts.models import Team
from controls.models import Practice

from ..models import ANSWER_FIELDS, Answer, Assessment, Project, RiskAcceptance
from ..validators import validate_answer_applicability


def _user(request):
    return getattr(request, "user", None) if request else None


class ProjectSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.none())
    check_targets = serializers.JSONField(required=False)
    check_opt_outs = serializers.JSONField(required=False)

    class Meta:
        model = Project
        fields = ["id", "team", "name", "slug", "description", "risk_tier", "lifecycle", "data_classification",
                  "check_targets", "check_opt_outs", "ai_act_role", "ai_act_risk_class", "archived_at", "created_at",
                  "updated_at"]
        read_only_fields = ["archived_at", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = _user(self.context.get("request"))
        if user is not None and "team" in self.fields and not self.fields["team"].read_only:
            self.fields["team"].queryset = Team.objects.visible_to(user)
        if self.instance is not None and not isinstance(self.instance, list | tuple) and "team" in self.fields:
            self.fields["team"].read_only = True  # a project never moves between teams

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        for key in ("check_targets", "check_opt_outs"):
            if key in values and values[key] is None:
                values[key] = {}
        return values


class AnswerSerializer(serializers.ModelSerializer):
    practice = serializers.CharField(source="practice.code", read_only=True)
    practice_title = serializers.CharField(source="practice.title", read_only=True)
    level = serializers.IntegerField(min_value=0, max_value=4, allow_null=True, required=False)
    target_level = serializers.IntegerField(min_value=0, max_value=4, allow_null=True, required=False)
    not_applicable = serializers.BooleanField(required=False)
    justification = serializers.CharField(allow_blank=True, required=False, max_length=4000)
    notes = serializers.CharField(allow_blank=True, required=False, max_length=8000)
    owner = serializers.CharField(allow_blank=True, required=False, max_length=120)
    updated_by = serializers.CharField(source="updated_by.username", read_only=True, default=None)
    owner_user = serializers.PrimaryKeyRelatedField(read_only=True, help_text="the team member `owner` names")

    class Meta:
        model = Answer
        fields = ["practice", "practice_title", "level", "not_applicable", "justification", "notes", "owner",
                  "owner_user", "target_level", "due_date", "updated_at", "updated_by"]
        read_only_fields = ["updated_at"]

    def validate(self, attrs):
        """The not-applicable rule of the model (`validate_answer_applicability`), over the answer as it will be:
        a PATCH keeps the fields it leaves out, a PUT resets them (`ANSWER_DEFAULTS`)."""
        attrs = super().validate(attrs)
        base = ANSWER_DEFAULTS if not self.partial or self.instance is None else {
            name: getattr(self.instance, name) for name in ANSWER_FIELDS}
        values = {**base, **attrs}
        try:
            validate_answer_applicability(not_applicable=values["not_applicable"], level=values["level"],
                                          justification=values["justification"])
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs


# The values a PUT resets when a field is left out (PUT replaces the whole answer): the model's defaults.
ANSWER_DEFAULTS = {name: Answer._meta.get_field(name).get_default() for name in ANSWER_FIELDS}


class AssessmentSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none())
    team = serializers.CharField(source="project.team.slug", read_only=True)
    completion = serializers.IntegerField(read_only=True)
    submitted_by = serializers.CharField(source="submitted_by.username", read_only=True, default=None)
    reviewed_by = serializers.CharField(source="reviewed_by.username", read_only=True, default=None)
    copy_previous = serializers.BooleanField(write_only=True, required=False, default=True,
                                             help_text="start from the last approved assessment's answers")

    class Meta:
        model = Assessment
        fields = ["id", "project", "team", "cycle", "status", "catalog_version", "completion", "submitted_by",
                  "submitted_at", "reviewed_by", "reviewed_at", "review_comment", "created_at", "updated_at",
                  "copy_previous"]
        read_only_fields = ["status", "catalog_version", "submitted_at", "reviewed_at", "review_comment",
                            "created_at", "updated_at"]
        validators = []  # uniqueness of project × cycle is answered by the service with a clear message

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = _user(self.context.get("request"))
        if user is not None:
            self.fields["project"].queryset = Project.objects.visible_to(user).active()


class AssessmentDetailSerializer(AssessmentSerializer):
    answers = AnswerSerializer(many=True, read_only=True)

    class Meta(AssessmentSerializer.Meta):
        fields = [*AssessmentSerializer.Meta.fields, "answers"]


class ApproveSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class ReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=4000, allow_blank=False, trim_whitespace=True)


class RiskAcceptanceSerializer(serializers.ModelSerializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.none())
    practice = serializers.SlugRelatedField(slug_field="code", queryset=Practice.objects.active())
    proposed_by = serializers.CharField(source="proposed_by.username", read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, default=None)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None)
    status = serializers.ChoiceField(choices=["approved", "rejected"], required=False,
                                     help_text="officers: approved or rejected")
    decision_note = serializers.CharField(required=False, allow_blank=True, max_length=4000)

    class Meta:
        model = RiskAcceptance
        fields = ["id", "project", "practice", "justification", "expires_on", "status", "proposed_by",
                  "proposed_at", "approved_by", "decided_by", "decided_at", "decision_note"]
        read_only_fields = ["proposed_at", "decided_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = _user(self.context.get("request"))
        if user is not None:
            self.fields["project"].queryset = Project.objects.visible_to(user).active()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            self.fields["project"].read_only = True
            self.fields["practice"].read_only = True

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["status"] = instance.status
        return data
