"""Model-scanning policies over the API: a team's reviewed scan allowances, a project's signing policy."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Team
from accounts.scope import ScopedView, ScopedViewSetMixin
from assessments.models import Project

from .. import policy_services
from ..choices import AllowanceKind, SignerKind
from ..models import ScanAllowance, SigningPolicy


class ScanAllowanceSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id")
    reviewed_by = serializers.CharField(source="reviewed_by.username", read_only=True, default=None)
    kind = serializers.ChoiceField(choices=AllowanceKind.choices, default=AllowanceKind.PICKLE_GLOBAL)
    name = serializers.CharField(max_length=200)
    reason = serializers.CharField(max_length=2000)

    class Meta:
        model = ScanAllowance
        fields = ["id", "team", "kind", "name", "reason", "reviewed_by", "reviewed_at"]
        read_only_fields = ["id", "reviewed_by", "reviewed_at"]
        validators = []  # uniqueness is the service's, with a sentence


class ScanAllowanceViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                           mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Names a team may load beyond the documented allow-list; added and removed by security officers."""

    serializer_class = ScanAllowanceSerializer
    queryset = ScanAllowance.objects.select_related("team", "reviewed_by").order_by("team__name", "kind", "name", "pk")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = self.scoped(Team).filter(pk=data["team_id"]).first()
        if team is None:
            raise serializers.ValidationError({"team": ["No such team."]})
        allowance = policy_services.scan_allowance_create(actor=request.user, team=team, kind=data["kind"],
                                                          name=data["name"], reason=data["reason"])
        return Response(self.get_serializer(allowance).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        policy_services.scan_allowance_delete(actor=self.request.user, allowance=instance)


class SignerSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=SignerKind.choices)
    material = serializers.CharField(max_length=64_000, help_text="PEM public key, or PEM certificate chain")
    identities = serializers.ListField(child=serializers.CharField(max_length=320), required=False, default=list,
                                       max_length=50)


class SigningPolicySerializer(serializers.Serializer):
    required = serializers.BooleanField()
    signers = SignerSerializer(many=True, max_length=20)


class SigningPolicyView(ScopedView, APIView):
    """GET the project's model-signing policy; PUT replaces it (team lead or security officer)."""

    @extend_schema(responses=SigningPolicySerializer)
    def get(self, request, pk: int):
        project = self.get_scoped_or_404(Project, pk=pk)
        return Response(_policy_body(project))

    @extend_schema(request=SigningPolicySerializer, responses=SigningPolicySerializer)
    def put(self, request, pk: int):
        project = self.get_scoped_or_404(Project, pk=pk)
        serializer = SigningPolicySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy_services.signing_policy_set(actor=request.user, project=project, **serializer.validated_data)
        return Response(_policy_body(project))


def _policy_body(project) -> dict:
    policy = SigningPolicy.objects.filter(project=project).prefetch_related("signers").first()
    if policy is None:
        return {"project": project.pk, "required": False, "signers": []}
    return {"project": project.pk, "required": policy.required,
            "signers": [{"name": s.name, "kind": s.kind, "material": s.material, "identities": s.identities}
                        for s in policy.signers.all()]}
