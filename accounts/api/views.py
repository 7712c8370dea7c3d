from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..models import Membership, Team, User
from ..scope import ScopedViewSetMixin
from .serializers import MembershipRemoveSerializer, MembershipSerializer, TeamSerializer, UserSerializer


class IsOrgAdmin(permissions.BasePermission):
    message = "Only administrators manage users."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_org_admin)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Users and their organisation roles (administrators only)."""

    serializer_class = UserSerializer
    permission_classes = [permissions.IsAuthenticated, IsOrgAdmin]
    http_method_names = ["get", "post", "patch", "head", "options"]
    filterset_fields = ["org_role", "is_active"]

    def get_queryset(self):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        confirmed = TOTPDevice.objects.filter(confirmed=True).values("user")
        return User.objects.annotate(mfa_devices=Count("pk", filter=Q(pk__in=confirmed))).order_by("username")

    def perform_create(self, serializer):
        serializer.instance = services.user_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.user_update(actor=self.request.user, user=serializer.instance,
                                                   **serializer.validated_data)


class TeamViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                  mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Teams; everyone sees the teams in their scope, officers and administrators manage them."""

    serializer_class = TeamSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[a-z0-9-]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = Team.objects.order_by("name")

    def perform_create(self, serializer):
        serializer.instance = services.team_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.team_update(actor=self.request.user, team=serializer.instance,
                                                   **serializer.validated_data)

    @extend_schema(responses=MembershipSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="members", serializer_class=MembershipSerializer)
    def members(self, request, slug=None):
        team = self.get_object()
        memberships = Membership.objects.filter(team=team).select_related("user").order_by("role", "user__username")
        page = self.paginate_queryset(memberships)
        return self.get_paginated_response(MembershipSerializer(page, many=True).data)

    @extend_schema(request=MembershipSerializer, responses={201: MembershipSerializer})
    @members.mapping.post
    def add_member(self, request, slug=None):
        team = self.get_object()
        serializer = MembershipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_set(actor=request.user, team=team, **serializer.validated_data)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipRemoveSerializer, responses={204: None})
    @members.mapping.delete
    def remove_member(self, request, slug=None):
        team = self.get_object()
        serializer = MembershipRemoveSerializer(data=request.data or request.query_params)
        serializer.is_valid(raise_exception=True)
        services.membership_remove(actor=request.user, team=team, user=serializer.validated_data["user"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None}, operation_id="v1_teams_members_destroy_by_user")
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<user_id>[0-9]+)")
    def remove_member_by_id(self, request, slug=None, user_id=None):
        team = self.get_object()
        user = get_object_or_404(User, pk=user_id)
        services.membership_remove(actor=request.user, team=team, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
