"""`scim-tokens/`: administrators list, create (the key shown once) and revoke SCIM tokens."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts.api.views import IsOrgAdmin

from . import services
from .models import ScimToken


class ScimTokenSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ScimToken
        fields = ["id", "name", "created_by", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "created_by", "created_at", "last_used_at", "revoked_at"]


class ScimTokenViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
                       viewsets.GenericViewSet):
    serializer_class = ScimTokenSerializer
    permission_classes = [permissions.IsAuthenticated, IsOrgAdmin]
    queryset = ScimToken.objects.select_related("created_by").order_by("-created_at")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token, key = services.scim_token_create(actor=request.user, name=serializer.validated_data["name"])
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response({**ScimTokenSerializer(token).data, "token": key}, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.scim_token_revoke(actor=self.request.user, token=instance)
