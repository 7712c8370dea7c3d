from rest_framework import mixins, permissions, serializers, viewsets

from ..filtersets import AuditEventFilter
from ..models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_username")

    class Meta:
        model = AuditEvent
        fields = ["seq", "at", "actor", "action", "object_type", "object_id", "object_repr", "changes", "ip",
                  "request_id", "hash", "prev_hash"]


class CanReadTrail(permissions.BasePermission):
    message = "Only officers, auditors and administrators read the audit trail."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.sees_everything)


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The append-only, hash-chained audit trail, newest first."""

    serializer_class = AuditEventSerializer
    permission_classes = [permissions.IsAuthenticated, CanReadTrail]
    filterset_class = AuditEventFilter
    lookup_field = "seq"

    def get_queryset(self):
        return AuditEvent.objects.visible_to(self.request.user).order_by("-seq")
