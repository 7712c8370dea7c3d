from rest_framework import mixins, viewsets
from rest_framework.exceptions import PermissionDenied

from ..models import Practice
from ..services import practice_create_custom
from .serializers import PracticeSerializer


class PracticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The catalogue, in order; administrators may add the organisation's own practices (ORG-nn)."""

    serializer_class = PracticeSerializer
    lookup_field = "code"
    lookup_value_regex = r"[A-Z]{3}-\d{2,3}"
    filterset_fields = ["category", "is_custom"]

    def get_queryset(self):
        return Practice.objects.active().for_catalogue()

    def create(self, request, *args, **kwargs):
        if not Practice.can_be_created_by(request.user):
            raise PermissionDenied("Only administrators add practices to the catalogue.")
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = practice_create_custom(actor=self.request.user, **serializer.validated_data)
