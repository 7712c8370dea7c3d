from rest_framework import mixins, permissions, serializers, viewsets

from mlsec_portal.scope import ScopedViewSetMixin

from ..filtersets import AuditEventFilter
from ..models import AuditEvent
from ..redaction import redacted_view


class AuditEventSerializer(serializers.ModelSerializer):
    """An event as stored, except that secrets recorded by older versions are masked (the hash is the stored one)."""

    actor = serializers.CharField(source="actor_username")

    class Meta:
        model = AuditEvent
        fields = ["seq", "at", "actor", "action", "object_type", "object_id", "object_repr", "changes", "ip",
                  "request_id", "hash", "prev_hash"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        shown = redacted_view(instance)
        data.update(changes=shown.changes, object_id=shown.object_id, object_repr=shown.object_repr)
        return data


class CanReadTrail(permissions.BasePermission):
    message = "Only officers, auditors and administrators read the audit trail."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.sees_everything)


class AuditEventViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The append-only, hash-chained audit trail, newest first."""

    serializer_class = AuditEventSerializer
    permission_classes = [permissions.IsAuthenticated, CanReadTrail]
    filterset_class = AuditEventFilter
    lookup_field = "seq"
    queryset = AuditEvent.objects.sealed().order_by("-seq")  # chained events only
