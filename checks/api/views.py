from django.db.models import Prefetch
from rest_framework import mixins, viewsets

from evidence.models import Evidence

from ..filtersets import CheckRunFilter
from ..models import CheckDefinition, CheckRun
from ..schedules import schedules_by_check
from .serializers import CheckRunSerializer, CheckSerializer


class CheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The registered automated checks, with the practices they cover and their schedules."""

    serializer_class = CheckSerializer
    lookup_field = "key"

    def get_queryset(self):
        return CheckDefinition.objects.prefetch_related("practices").order_by("key")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "schedules": schedules_by_check()}


class CheckRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Runs of the checks, newest first, in the user's scope."""

    serializer_class = CheckRunSerializer
    filterset_class = CheckRunFilter

    def get_queryset(self):
        return (
            CheckRun.objects.visible_to(self.request.user)
            .select_related("requested_by")
            .prefetch_related(Prefetch("evidence", queryset=Evidence.objects.only("pk", "check_run_id")))
            .order_by("-created_at", "-pk")
        )
