from django.contrib.auth.password_validation import validate_password
from rest_framework import serializers

from ..choices import TeamRole
from ..models import Membership, Team, User


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, required=False, allow_blank=False, max_length=128,
                                     style={"input_type": "password"})
    mfa_enrolled = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "org_role", "is_active", "password",
                  "mfa_enrolled", "identity_source", "date_joined", "last_login"]
        read_only_fields = ["identity_source", "date_joined", "last_login"]

    def get_mfa_enrolled(self, user) -> bool:
        return bool(getattr(user, "mfa_devices", 0))

    def validate(self, attrs):
        password = attrs.get("password")
        if password:
            candidate = self.instance or User(**{k: v for k, v in attrs.items() if k != "password"})
            try:
                validate_password(password, candidate)
            except Exception as exc:  # django ValidationError carries the messages
                raise serializers.ValidationError({"password": list(getattr(exc, "messages", [str(exc)]))}) from None
        return attrs


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["slug", "name", "description", "created_at"]
        read_only_fields = ["created_at"]

    def get_extra_kwargs(self):
        extra = super().get_extra_kwargs()
        if self.instance is not None:
            extra["slug"] = {"read_only": True}
        return extra


class MembershipSerializer(serializers.ModelSerializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    username = serializers.CharField(source="user.username", read_only=True)
    role = serializers.ChoiceField(choices=TeamRole.choices)

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "role", "source", "created_at"]
        read_only_fields = ["source", "created_at"]


class MembershipRemoveSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
